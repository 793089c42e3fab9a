//! A mixed workload through the storage ports, counting the write units each partition key
//! takes, so that a layout with a hot partition fails a test rather than a deployment.
//!
//! Each simulated operation makes the store calls the corresponding flow makes (authz
//! `flows/`, mcp `auth.rs` and `cost/metered.rs`); docs/storage.md lists them per operation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Map;

use super::item::{CommitMark, Condition, Index, Item, ItemBackend};
use super::sqlite::SqliteBackend;
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::oauth::client_id::ClientId;
use crate::oauth::client_metadata::ClientMetadata;
use crate::oauth::redirect_uri::RedirectUri;
use crate::oauth::resource::ResourceUri;
use crate::oauth::scope::Scope;
use crate::secret::Sha256Hex;

/// An [`ItemBackend`] that counts, per partition key, the write units DynamoDB would charge:
/// one per item written, deleted or incremented (items here stay under 1 KB), two inside a
/// transaction, on the table partition (`PK`) and again on the index partition (`GSI1:` +
/// `GSI1PK`) when the item carries a listing key. A conditional write that fails still costs
/// its units, as on DynamoDB.
/// It also counts reads (`get` and `get_many` calls), and passes the inner backend's commit mark
/// on.
pub struct CountingBackend {
    inner: Arc<dyn ItemBackend>,
    units: Mutex<HashMap<String, u64>>,
    reads: AtomicU64,
}

impl CountingBackend {
    pub fn new(inner: Arc<dyn ItemBackend>) -> Self {
        Self {
            inner,
            units: Mutex::new(HashMap::new()),
            reads: AtomicU64::new(0),
        }
    }

    /// Reads made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    fn count(&self, item: &Item, units: u64) {
        let mut counts = self.units.lock().unwrap();
        *counts.entry(item.pk.clone()).or_default() += units;
        if let Some((gsi1pk, _)) = &item.gsi1 {
            *counts.entry(format!("GSI1:{gsi1pk}")).or_default() += units;
        }
    }

    /// Every partition key with its write units, the busiest first.
    pub fn busiest(&self) -> Vec<(String, u64)> {
        let mut all: Vec<_> = self
            .units
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all
    }
}

#[async_trait]
impl ItemBackend for CountingBackend {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(pk, sk, now).await
    }

    async fn get_many(&self, keys: &[(String, String)], now: i64) -> Result<Vec<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_many(keys, now).await
    }

    fn commit_mark(&self) -> Option<CommitMark> {
        self.inner.commit_mark()
    }

    async fn put(&self, item: &Item, condition: Condition, now: i64) -> Result<bool, StoreError> {
        self.count(item, 1);
        self.inner.put(item, condition, now).await
    }

    async fn put_all(&self, writes: &[(Item, Condition)], now: i64) -> Result<bool, StoreError> {
        for (item, _) in writes {
            self.count(item, 2);
        }
        self.inner.put_all(writes, now).await
    }

    async fn take(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let taken = self.inner.take(pk, sk, now).await?;
        match &taken {
            Some(item) => self.count(item, 1),
            None => self.count(&Item::new(pk, sk), 1),
        }
        Ok(taken)
    }

    async fn query(
        &self,
        index: Index,
        partition: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        now: i64,
    ) -> Result<Vec<Item>, StoreError> {
        self.inner
            .query(index, partition, prefix, after, limit, now)
            .await
    }

    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        self.count(&Item::new(pk, sk), 1);
        self.inner.increment(pk, sk, expires_at, now).await
    }
}

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn id(&mut self) -> String {
        format!("{:016x}{:016x}", self.below(u64::MAX), self.below(u64::MAX))
    }
}

struct Sim {
    stores: Stores,
    clock: Arc<ManualClock>,
    rng: Rng,
}

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
    fn event(&mut self, kind: &str, client_id: &str, sub: Option<&str>) -> AuditEvent {
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

    async fn audit(&mut self, kind: &str, client_id: &str, sub: Option<&str>) {
        let event = self.event(kind, client_id, sub);
        self.stores.audit.append(&event).await.unwrap();
    }

    /// `flows::clients::resolve`: a document URL through the CIMD cache, else the client item.
    async fn resolve(&mut self, client_id: &str) {
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
    async fn touch(&mut self, client_id: &str) {
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
    async fn register(&mut self) -> String {
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

    /// `/authorize`, the consent page, `/login` (a redirect to Cognito), `/callback` and the code
    /// exchange at `/token`; returns the grant.
    async fn authorize(&mut self, user: &str, client_id: &str) -> String {
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
    async fn refresh(&mut self, grant_id: &str) {
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
    async fn revoke(&mut self, grant_id: &str, jti: &str) {
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
    async fn mcp_call(&mut self, user: &str, grant_id: &str, client_id: &str, jti: &str) {
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

/// The most any one partition key may take of all write units in the workload.
///
/// A partition absorbs about 1,000 write units a second. If the busiest key takes a fraction
/// `f` of all writes, that key saturates when the table as a whole writes `1,000 / f` units a
/// second. At 5 % that is 20,000 WCU/s: half of DynamoDB's default per-table on-demand quota
/// (40,000 WCU/s), so the quota, not one partition, is what a deployment reaches first. The
/// unsharded layout put a whole day's audit trail and a CIMD client's listings on single keys
/// (each well over 5 % here).
const MAX_SHARE: f64 = 0.05;

/// Thousands of flows by many users sharing a few clients: three Client ID Metadata Document
/// clients (70/20/10 % of users, as when every Claude user shares Claude's document) and some
/// users' own dynamically registered clients; each flow authorizes, calls MCP tools, refreshes,
/// and some revoke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_partition_key_takes_more_than_its_share_of_writes() {
    let counting = Arc::new(CountingBackend::new(Arc::new(
        SqliteBackend::in_memory().unwrap(),
    )));
    let clock = Arc::new(ManualClock::at(super::contract::T0 + 3_600));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let mut sim = Sim {
        stores: Stores::new(counting.clone(), dyn_clock),
        clock,
        rng: Rng(0x9E37_79B9_7F4A_7C15),
    };
    let documents = [
        "https://claude.ai/oauth/mcp-oauth-client-metadata",
        "https://chatgpt.com/oauth/client.json",
        "https://vscode.dev/oauth/client-metadata.json",
    ];
    let users = 400_u64;
    let flows = 2_000;
    for flow in 0..flows {
        let user = format!("user-{}", sim.rng.below(users));
        let client_id = match sim.rng.below(100) {
            0..=59 => documents[0].to_owned(),
            60..=79 => documents[1].to_owned(),
            80..=89 => documents[2].to_owned(),
            _ => sim.register().await,
        };
        let grant_id = sim.authorize(&user, &client_id).await;
        let jti = format!("jti-{flow}");
        for _ in 0..5 {
            sim.mcp_call(&user, &grant_id, &client_id, &jti).await;
        }
        for _ in 0..2 {
            sim.clock.advance(1);
            sim.refresh(&grant_id).await;
        }
        if sim.rng.below(10) == 0 {
            sim.revoke(&grant_id, &jti).await;
        }
        sim.clock.advance(1);
    }

    let busiest = counting.busiest();
    let total: u64 = busiest.iter().map(|(_, units)| units).sum();
    let report: Vec<String> = busiest
        .iter()
        .take(8)
        .map(|(key, units)| {
            format!(
                "{key}: {units} ({:.2} %)",
                100.0 * *units as f64 / total as f64
            )
        })
        .collect();
    println!(
        "{flows} flows, {total} write units on {} partition keys; busiest:\n  {}",
        busiest.len(),
        report.join("\n  ")
    );
    let (key, units) = &busiest[0];
    let share = *units as f64 / total as f64;
    assert!(
        share <= MAX_SHARE,
        "partition key {key} takes {:.2} % of all write units (bound {:.0} %); busiest:\n  {}",
        100.0 * share,
        100.0 * MAX_SHARE,
        report.join("\n  ")
    );
}
