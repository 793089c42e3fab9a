//! The workload's grant operations: authorization through the code exchange, refresh,
//! revocation, and the MCP server's calls.

use super::Sim;
use crate::clock::Clock as _;
use crate::oauth::client_id::ClientId;
use crate::oauth::redirect_uri::RedirectUri;
use crate::oauth::resource::ResourceUri;
use crate::oauth::scope::Scope;
use crate::secret::Sha256Hex;
use crate::store::*;

impl Sim {
    /// `/authorize`, the consent page, `/login` (a redirect to Cognito), `/callback` and the code
    /// exchange at `/token`; returns the grant.
    pub(super) async fn authorize(&mut self, user: &str, client_id: &str) -> String {
        let now = self.clock.now();
        // /authorize: the per-address limit, the client, a pending request.
        self.stores
            .rate_limits
            .hit(&format!("authorize:{user}-ip"), 60)
            .await
            .unwrap();
        self.resolve(client_id).await;
        let pending = PendingAuthorization {
            id: self.rng.id(),
            client_id: ClientId::from_stored(client_id),
            redirect_uri: RedirectUri::from_stored("https://claude.ai/api/mcp/auth_callback"),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            scope: Scope::from_stored("costs:read"),
            resource: ResourceUri::from_stored("https://mcp.example.com/mcp"),
            state: Some("s".into()),
            upstream_nonce: self.rng.id(),
            upstream_verifier: self.rng.id(),
            approved_by: None,
            redirect_uris_digest: Some("digest".into()),
            created_at: now,
            expires_at: now + 600,
        };
        assert!(self.stores.pending.put(&pending).await.unwrap());
        // Consent: read, take, store the approved request under a new id, audit.
        self.stores.pending.get(&pending.id).await.unwrap().unwrap();
        let taken = self
            .stores
            .pending
            .take(&pending.id)
            .await
            .unwrap()
            .unwrap();
        let approved = PendingAuthorization {
            id: self.rng.id(),
            approved_by: Some("browser".into()),
            ..taken
        };
        assert!(self.stores.pending.put(&approved).await.unwrap());
        self.audit("consent.given", client_id, None).await;
        // /login: reads the request, redirects upstream.
        self.stores
            .pending
            .get(&approved.id)
            .await
            .unwrap()
            .unwrap();
        // /callback: take the request, the client, audit, consent, code, audit.
        self.clock.advance(5);
        self.stores
            .pending
            .take(&approved.id)
            .await
            .unwrap()
            .unwrap();
        self.resolve(client_id).await;
        self.audit("login", client_id, Some(user)).await;
        let now = self.clock.now();
        let consent = ConsentRecord {
            sub: user.into(),
            client_id: ClientId::from_stored(client_id),
            scope: Scope::from_stored("costs:read"),
            granted_at: now,
            redirect_uris_digest: Some("digest".into()),
        };
        self.stores.consents.put(&consent).await.unwrap();
        let code = CodeRecord {
            code_hash: Sha256Hex::from_stored(self.rng.id()),
            client_id: ClientId::from_stored(client_id),
            redirect_uri: approved.redirect_uri.clone(),
            code_challenge: approved.code_challenge.clone(),
            scope: Scope::from_stored("costs:read"),
            resource: approved.resource.clone(),
            sub: user.into(),
            groups: vec!["finance".into()],
            issued_at: now,
            valid_until: now + 60,
            upstream_session: None,
        };
        assert!(self.stores.codes.put(&code).await.unwrap());
        self.audit("code.issued", client_id, Some(user)).await;
        // /token: the client, the code, then code + grant + event in one transaction.
        self.resolve(client_id).await;
        self.stores
            .codes
            .peek(code.code_hash.as_str())
            .await
            .unwrap()
            .unwrap();
        let grant = GrantRecord {
            grant_id: self.rng.id(),
            sub: user.into(),
            client_id: ClientId::from_stored(client_id),
            scope: Scope::from_stored("costs:read"),
            resource: code.resource.clone(),
            groups: code.groups.clone(),
            refresh_hash: Sha256Hex::from_stored(self.rng.id()),
            previous_refresh_hash: None,
            superseded_hashes: vec![],
            rotated_at: None,
            version: 0,
            status: GrantStatus::Active,
            created_at: now,
            expires_at: Some(now + 30 * 86_400),
            upstream_session: None,
        };
        let event = self.event("token.issued", client_id, Some(user));
        assert!(
            self.stores
                .codes
                .redeem_into_grant(&code, Some(&grant), &event)
                .await
                .unwrap()
        );
        self.touch(client_id).await;
        grant.grant_id
    }

    /// A refresh at `/token`: the client, the grant, the rotation, the touch, the event.
    pub(super) async fn refresh(&mut self, grant_id: &str) {
        let grant = self.stores.grants.get(grant_id).await.unwrap().unwrap();
        if grant.status != GrantStatus::Active {
            return;
        }
        self.resolve(grant.client_id.as_str()).await;
        let next = self.rng.id();
        let rotated = self
            .stores
            .grants
            .rotate(
                grant_id,
                grant.version,
                &Sha256Hex::from_stored(next),
                &grant.groups,
            )
            .await
            .unwrap();
        assert!(rotated.is_some());
        self.touch(grant.client_id.as_str()).await;
        self.audit(
            "token.refreshed",
            grant.client_id.as_str(),
            Some(&grant.sub),
        )
        .await;
    }

    /// RFC 7009 at `/revoke`: a refresh token revokes its grant, an access token its `jti`.
    pub(super) async fn revoke(&mut self, grant_id: &str, jti: &str) {
        let grant = self.stores.grants.get(grant_id).await.unwrap().unwrap();
        self.resolve(grant.client_id.as_str()).await;
        if self.rng.below(2) == 0 {
            if self.stores.grants.revoke(grant_id).await.unwrap() {
                self.audit("grant.revoked", grant.client_id.as_str(), Some(&grant.sub))
                    .await;
            }
        } else {
            let keep = self.clock.now() + 3630;
            self.stores
                .revocations
                .revoke(Revoked::Token(jti), keep)
                .await
                .unwrap();
            self.audit(
                "access_token.revoked",
                grant.client_id.as_str(),
                Some(&grant.sub),
            )
            .await;
        }
    }

    /// An MCP tool call: the revocation check, then the cost cache and, on a miss, the
    /// user's daily budget counter and the cache entry.
    pub(super) async fn mcp_call(
        &mut self,
        user: &str,
        grant_id: &str,
        client_id: &str,
        jti: &str,
    ) {
        let token = TokenIdentity {
            jti,
            grant_id: Some(grant_id),
            client_id,
            sub: user,
            iat: self.clock.now(),
        };
        self.stores.revocations.is_revoked(&token).await.unwrap();
        let question = format!("cost-by-service#{}", self.rng.below(40));
        let cached = self
            .stores
            .cache
            .get(CacheKind::CostExplorer, &question)
            .await
            .unwrap();
        if cached.is_none() {
            self.stores
                .rate_limits
                .hit(&format!("ce-budget#{user}"), 86_400)
                .await
                .unwrap();
            self.stores
                .cache
                .put(CacheKind::CostExplorer, &question, "{}", 3600)
                .await
                .unwrap();
        }
    }
}
