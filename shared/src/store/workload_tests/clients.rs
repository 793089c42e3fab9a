//! The workload's client operations: registration, resolution (documents through their cache),
//! recording use, audit events.

use serde_json::Map;

use super::Sim;
use crate::clock::Clock as _;
use crate::oauth::client_id::ClientId;
use crate::oauth::client_metadata::ClientMetadata;
use crate::oauth::redirect_uri::RedirectUri;
use crate::secret::Sha256Hex;
use crate::store::*;

fn metadata() -> ClientMetadata {
    ClientMetadata {
        redirect_uris: vec![RedirectUri::from_stored(
            "https://claude.ai/api/mcp/auth_callback",
        )],
        token_endpoint_auth_method: crate::oauth::client_values::AuthMethod::None,
        grant_types: vec![
            crate::oauth::client_values::GrantType::AuthorizationCode,
            crate::oauth::client_values::GrantType::RefreshToken,
        ],
        response_types: vec!["code".into()],
        client_name: Some("Claude".into()),
        ..ClientMetadata::default()
    }
}

impl Sim {
    pub(super) fn event(&mut self, kind: &str, client_id: &str, sub: Option<&str>) -> AuditEvent {
        let mut detail = Map::new();
        detail.insert("scope".into(), "costs:read".into());
        AuditEvent {
            id: self.rng.id(),
            at_ms: self.clock.now_ms(),
            kind: kind.into(),
            client_id: Some(client_id.into()),
            sub: sub.map(Into::into),
            source_ip: Some("192.0.2.1".into()),
            user_agent: Some("workload".into()),
            detail,
        }
    }

    pub(super) async fn audit(&mut self, kind: &str, client_id: &str, sub: Option<&str>) {
        let event = self.event(kind, client_id, sub);
        self.stores.audit.append(&event).await.unwrap();
    }

    /// `flows::clients::resolve`: a document URL through the CIMD cache, else the client item.
    pub(super) async fn resolve(&mut self, client_id: &str) {
        if client_id.starts_with("https://") {
            let cached = self
                .stores
                .cache
                .get(CacheKind::ClientMetadataDocument, client_id)
                .await
                .unwrap();
            if cached.is_none() {
                self.stores
                    .cache
                    .put(CacheKind::ClientMetadataDocument, client_id, "{}", 300)
                    .await
                    .unwrap();
            }
        } else {
            self.stores.clients.get(client_id).await.unwrap().unwrap();
        }
    }

    /// `flows::clients::touch`: a dynamic client's last use, at most once a minute.
    pub(super) async fn touch(&mut self, client_id: &str) {
        if client_id.starts_with("https://") {
            return;
        }
        let client = self.stores.clients.get(client_id).await.unwrap().unwrap();
        let now = self.clock.now();
        if client.last_used_at.is_some_and(|at| now - at < 60) {
            return;
        }
        let updated = ClientRecord {
            last_used_at: Some(now),
            expires_at: Some(now + 30 * 86_400),
            ..client
        };
        self.stores.clients.replace(&updated).await.unwrap();
    }

    /// `POST /register` from Claude's (rate-limit exempt) egress.
    pub(super) async fn register(&mut self) -> String {
        let now = self.clock.now();
        let client = ClientRecord {
            client_id: ClientId::from_stored(self.rng.id()),
            kind: ClientKind::Dcr,
            status: ClientStatus::Active,
            metadata: metadata(),
            secret_hash: None,
            registration_token_hash: Some(Sha256Hex::from_stored(self.rng.id())),
            resources: Vec::new(),
            created_at: now,
            created_ip: Some("160.79.104.10".into()),
            created_user_agent: Some("Claude-User".into()),
            last_used_at: None,
            revision: 0,
            expires_at: Some(now + 30 * 86_400),
        };
        assert!(self.stores.clients.create(&client).await.unwrap());
        self.audit("client.registered", client.client_id.as_str(), None)
            .await;
        client.client_id.to_string()
    }
}
