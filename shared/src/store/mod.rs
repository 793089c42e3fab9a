//! Storage ports, one per aggregate (docs/architecture.md, "Storage"), and the records they keep.
//!
//! Every port is implemented once by [`ItemStore`] over the single-table item model
//! ([`item::ItemBackend`]), which the DynamoDB and SQLite adapters provide. Secrets are never
//! stored: codes, refresh tokens, client secrets and registration tokens appear only as SHA-256
//! hashes. Ports return `Option`/`bool` for "absent" or "lost the race", so `?` carries only
//! infrastructure failures.

mod audit;
pub mod dynamo;
mod error;
mod grants;
pub mod item;
mod item_store;
mod limits;
mod revocations;
pub mod shard;
pub mod sqlite;

#[cfg(test)]
mod contract;
#[cfg(test)]
mod workload_tests;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::audit::AuditEvent;
pub use error::StoreError;
pub use item_store::ItemStore;

use crate::clock::Clock;
use crate::oauth::client_metadata::ClientMetadata;

/// A request for one page of a listing. The cursor is opaque: pass back what [`Page::next`] gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: usize,
}

impl PageRequest {
    pub fn first(limit: usize) -> Self {
        Self { after: None, limit }
    }
}

/// One page of a listing in ascending time order; `next` is set when more items may follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// RFC 7591 dynamic registration.
    Dcr,
    /// A Client ID Metadata Document (the client_id is an https URL).
    Cimd,
    /// Configured by an operator.
    Static,
}

/// Whether a client may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    Revoked,
    /// Turned off by an operator (`admin clients disable`); may be enabled again. Only
    /// [`ClientStatus::Active`] clients are accepted at the authorization and token endpoints.
    Disabled,
}

/// A registered client (`CLIENT#<id>` / `CLIENT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub client_id: String,
    pub kind: ClientKind,
    pub status: ClientStatus,
    pub metadata: ClientMetadata,
    /// SHA-256 (hex) of the client secret, for confidential clients.
    pub secret_hash: Option<String>,
    /// SHA-256 (hex) of the RFC 7592 registration access token.
    pub registration_token_hash: Option<String>,
    pub created_at: i64,
    pub created_ip: Option<String>,
    pub created_user_agent: Option<String>,
    pub last_used_at: Option<i64>,
    /// Bumped by every successful [`ClientStore::replace`]; the compare-and-set guard.
    pub revision: u64,
    /// Unused dynamic clients expire; use renews this.
    pub expires_at: Option<i64>,
}

/// An authorization request waiting for consent and the upstream login (`AUTHREQ#<id>`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    pub state: Option<String>,
    /// Nonce sent to the upstream identity provider and expected back in its ID token.
    pub upstream_nonce: String,
    /// PKCE verifier for the upstream leg (a secret: never logged).
    pub upstream_verifier: String,
    /// Set once the user approved the client on the consent page (or the browser's signed
    /// approval cookie covered it): the SHA-256 (hex) of the approving browser's nonce cookie.
    /// Only an approved request may go on to the upstream login, and only in that browser
    /// (`/login` and `/callback` compare the cookie of the browser in front of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// The client's redirect URIs as registered when the request began (their digest,
    /// `oauth::redirect_uri::set_digest`): an approval remembered in the browser covers the
    /// client as the user was shown it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris_digest: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .field("upstream_verifier", &"[redacted]")
            .field("approved", &self.approved_by.is_some())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An issued authorization code, keyed by the SHA-256 of the code (`CODE#<sha256>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeRecord {
    pub code_hash: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub resource: String,
    pub sub: String,
    pub groups: Vec<String>,
    pub issued_at: i64,
    /// The code is redeemable until this instant (60 s after issue). The item itself is kept a
    /// little longer so that a replay can still be recognised and its grant revoked.
    pub valid_until: i64,
    /// The upstream login's session (Cognito: its refresh token), sealed by
    /// `authz::upstream::session` (AES-256-GCM, bound to `sub` and `client_id`); checked at every
    /// refresh so a user signed out upstream loses the grant. Absent in embedded mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_session: Option<String>,
}

/// Whether a grant's refresh tokens still work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Active,
    Revoked,
}

/// How many superseded refresh-token hashes a grant keeps for reuse detection beyond the one just
/// replaced (about a day and a half of hourly refreshes; 2 KiB per grant).
pub const MAX_SUPERSEDED_REFRESH_HASHES: usize = 32;

/// A refresh-token family (`GRANT#<id>`), listed per user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub grant_id: String,
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub resource: String,
    pub groups: Vec<String>,
    /// SHA-256 (hex) of the current refresh token's secret.
    pub refresh_hash: String,
    /// SHA-256 (hex) of the refresh token it replaced, for the retry grace window.
    pub previous_refresh_hash: Option<String>,
    /// SHA-256 (hex) of the refresh tokens replaced before that one, newest last, at most
    /// [`MAX_SUPERSEDED_REFRESH_HASHES`]: presenting one of them is reuse of a superseded token
    /// (the grant is revoked), while a secret the grant never had revokes nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded_hashes: Vec<String>,
    pub rotated_at: Option<i64>,
    /// Bumped by every rotation and by revocation; the compare-and-set guard.
    pub version: u64,
    pub status: GrantStatus,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    /// The upstream login's session (Cognito: its refresh token), sealed by
    /// `authz::upstream::session` (AES-256-GCM, bound to `sub` and `client_id`); checked at every
    /// refresh so a user signed out upstream loses the grant. Absent in embedded mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_session: Option<String>,
}

/// A user's recorded approval of a client (`USER#<sub>` / `CONSENT#<client_id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub granted_at: i64,
    /// [`crate::oauth::redirect_uri::set_digest`] of the client's redirect URIs when the user
    /// approved it; absent in records written before approvals were bound to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris_digest: Option<String>,
}

impl ConsentRecord {
    /// Whether this consent was given to the client with exactly these redirect URIs (in any
    /// order): a consent recorded before a change of `redirect_uris`, or without a digest,
    /// covers nothing.
    pub fn covers_redirect_uris(&self, redirect_uris: &[String]) -> bool {
        self.redirect_uris_digest.as_deref()
            == Some(crate::oauth::redirect_uri::set_digest(redirect_uris).as_str())
    }
}

/// What a cache entry holds; each kind has its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    /// Fetched Client ID Metadata Documents.
    ClientMetadataDocument,
    /// Cost Explorer responses.
    CostExplorer,
}

/// A cached value with the instant it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedValue {
    pub value: String,
    pub stored_at: i64,
    pub expires_at: i64,
}

/// Registered clients.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Stores a new client; `false` if the client_id is already taken (nothing written).
    async fn create(&self, client: &ClientRecord) -> Result<bool, StoreError>;
    /// Reads a live client.
    async fn get(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;
    /// Replaces the client if its stored `revision` still equals `client.revision`, storing it
    /// with the revision incremented. `false` if it changed meanwhile or is gone.
    async fn replace(&self, client: &ClientRecord) -> Result<bool, StoreError>;
    /// Deletes the client; `false` if there was none.
    async fn delete(&self, client_id: &str) -> Result<bool, StoreError>;
    /// Lists clients by registration time, oldest first.
    async fn list(&self, page: &PageRequest) -> Result<Page<ClientRecord>, StoreError>;
    /// Lists clients registered at or after `since` (epoch seconds), oldest first; a cursor in
    /// `page.after` continues a previous page.
    async fn list_since(
        &self,
        since: i64,
        page: &PageRequest,
    ) -> Result<Page<ClientRecord>, StoreError>;
    /// Sets the client's status, retrying the compare-and-set on `revision` against concurrent
    /// writers (the last-use touch), and returns the stored record; `None` if there is no client.
    async fn set_status(
        &self,
        client_id: &str,
        status: ClientStatus,
    ) -> Result<Option<ClientRecord>, StoreError>;
}

/// Authorization requests between `/authorize` and `/callback`.
#[async_trait]
pub trait PendingAuthorizationStore: Send + Sync {
    /// Stores a new pending request; `false` if its id is taken.
    async fn put(&self, request: &PendingAuthorization) -> Result<bool, StoreError>;
    /// Reads a live pending request without consuming it (the consent step).
    async fn get(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError>;
    /// Removes and returns the request: of concurrent callers exactly one gets it, so an upstream
    /// callback can be completed once only.
    async fn take(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError>;
}

/// Authorization codes.
#[async_trait]
pub trait AuthorizationCodeStore: Send + Sync {
    /// Stores a new code; `false` if the hash is already present.
    async fn put(&self, code: &CodeRecord) -> Result<bool, StoreError>;
    /// Marks the code redeemed, so that any later presentation is a replay. Of any number of
    /// concurrent callers exactly one gets `true`; the others, any caller after a redemption and
    /// the caller of an unknown code get `false` (the item is kept past validity, so
    /// [`Self::peek`] still tells a replay from an unknown code). Validity (`valid_until`) is the
    /// caller's check.
    async fn redeem(&self, code_hash: &str) -> Result<bool, StoreError>;
    /// Reads a code without redeeming it: the record and whether it was redeemed. `None` for an
    /// unknown code.
    async fn peek(&self, code_hash: &str) -> Result<Option<(CodeRecord, bool)>, StoreError>;
    /// Redeems `code` and, in the same atomic step, stores `grant` (when the client may refresh)
    /// and appends `event`: all of it or nothing. Of any number of concurrent callers exactly one
    /// gets `true`; the others, and any caller after a redemption, get `false` and write nothing.
    async fn redeem_into_grant(
        &self,
        code: &CodeRecord,
        grant: Option<&GrantRecord>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
}

/// Refresh-token families.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores a new grant; `false` if its id is taken.
    async fn create(&self, grant: &GrantRecord) -> Result<bool, StoreError>;
    /// Reads a live grant (revoked ones included: check `status`).
    async fn get(&self, grant_id: &str) -> Result<Option<GrantRecord>, StoreError>;
    /// Rotates the refresh token of an active grant still at `expected_version`: the current hash
    /// becomes the previous one, `new_refresh_hash` the current, `groups` are replaced and the
    /// version is bumped. Returns the new state to exactly one of concurrent callers with the
    /// same `expected_version`; `None` to the others and for a revoked or absent grant.
    async fn rotate(
        &self,
        grant_id: &str,
        expected_version: u64,
        new_refresh_hash: &str,
        groups: &[String],
    ) -> Result<Option<GrantRecord>, StoreError>;
    /// Revokes the grant (whatever its version); `false` if it was absent or already revoked.
    async fn revoke(&self, grant_id: &str) -> Result<bool, StoreError>;
    /// Lists a user's grants by creation time, oldest first.
    async fn list_for_user(
        &self,
        sub: &str,
        page: &PageRequest,
    ) -> Result<Page<GrantRecord>, StoreError>;
    /// Lists a client's grants by creation time, oldest first. Every grant stored through
    /// [`GrantStore::create`] is listed (its index entry is written before the grant itself).
    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<GrantRecord>, StoreError>;
    /// Revokes every active grant of the user and returns those this call revoked (as stored
    /// before, with `status` set to revoked). Grants revoked meanwhile by others are left out.
    async fn revoke_all_for_user(&self, sub: &str) -> Result<Vec<GrantRecord>, StoreError>;
    /// Revokes every active grant of the client; as [`GrantStore::revoke_all_for_user`].
    async fn revoke_all_for_client(&self, client_id: &str) -> Result<Vec<GrantRecord>, StoreError>;
}

/// Consents recorded per (user, client).
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Records (or replaces) the user's consent for the client.
    async fn put(&self, consent: &ConsentRecord) -> Result<(), StoreError>;
    async fn get(&self, sub: &str, client_id: &str) -> Result<Option<ConsentRecord>, StoreError>;
    /// Withdraws a consent; `false` if there was none.
    async fn delete(&self, sub: &str, client_id: &str) -> Result<bool, StoreError>;
    /// Lists a user's consents ordered by client_id.
    async fn list_for_user(
        &self,
        sub: &str,
        page: &PageRequest,
    ) -> Result<Page<ConsentRecord>, StoreError>;
}

/// What [`AuditStore::search`] looks for; every criterion set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The event type, exactly, or a prefix when it ends with `*` (`admin.*`).
    pub kind: Option<String>,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    /// Epoch milliseconds, inclusive [default: the retention period before `until_ms`].
    pub since_ms: Option<i64>,
    /// Epoch milliseconds, exclusive [default: now, included].
    pub until_ms: Option<i64>,
}

impl AuditQuery {
    /// Whether `event` meets the type, client and user criteria (not the time range).
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let kind_ok = match self.kind.as_deref() {
            None => true,
            Some(kind) => match kind.strip_suffix('*') {
                Some(prefix) => event.kind.as_str().starts_with(prefix),
                None => event.kind == kind,
            },
        };
        kind_ok
            && self
                .client_id
                .as_ref()
                .is_none_or(|c| event.client_id.as_ref() == Some(c))
            && self
                .sub
                .as_ref()
                .is_none_or(|s| event.sub.as_ref() == Some(s))
    }
}

/// The audit trail (kept 90 days).
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Events of one UTC day (`yyyy-mm-dd`), oldest first.
    async fn list_day(&self, day: &str, page: &PageRequest)
    -> Result<Page<AuditEvent>, StoreError>;
    /// Events concerning one client, oldest first.
    async fn list_for_client(
        &self,
        client_id: &str,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError>;
    /// Events matching `query`, oldest first, at most `page.limit` of them. With a client the
    /// client's listing is read; otherwise every day partition of the range, filtered here, so a
    /// wide range without a client reads every event in it. The range is cut to the retention
    /// period (and at most a day ahead of now). `next` continues after the last event read
    /// (matching or not).
    async fn search(
        &self,
        query: &AuditQuery,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError>;
}

/// Fixed-window request counters.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one hit for `key` in the current window of `window_secs` and returns the hits in
    /// that window so far, this one included. Concurrent hits are all counted.
    async fn hit(&self, key: &str, window_secs: u64) -> Result<u64, StoreError>;
}

/// Bounded caches kept in the store (CIMD documents, Cost Explorer answers).
#[async_trait]
pub trait CacheStore: Send + Sync {
    /// Reads a live entry; `key` is hashed before use.
    async fn get(&self, kind: CacheKind, key: &str) -> Result<Option<CachedValue>, StoreError>;
    /// Stores an entry for `ttl_secs`.
    async fn put(
        &self,
        kind: CacheKind,
        key: &str,
        value: &str,
        ttl_secs: u64,
    ) -> Result<(), StoreError>;
}

/// A user of the embedded login (`LOGIN#<username>` / `LOGIN`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginUser {
    pub username: String,
    /// The stable user id put in tokens (`sub`).
    pub sub: String,
    /// Argon2id PHC string; never the password.
    pub password_hash: String,
    pub groups: Vec<String>,
    pub enabled: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for LoginUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginUser")
            .field("username", &self.username)
            .field("sub", &self.sub)
            .field("password_hash", &"[redacted]")
            .field("groups", &self.groups)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Users of the embedded login page.
#[async_trait]
pub trait LoginUserStore: Send + Sync {
    /// Stores a new user; `false` if the username is taken (nothing written).
    async fn create(&self, user: &LoginUser) -> Result<bool, StoreError>;
    async fn get(&self, username: &str) -> Result<Option<LoginUser>, StoreError>;
    /// Replaces an existing user (password, groups, enabled); `false` if there is none.
    async fn update(&self, user: &LoginUser) -> Result<bool, StoreError>;
    /// Whether any user exists (first start creates a dev user when none does).
    async fn any(&self) -> Result<bool, StoreError>;
    /// Lists users ordered by username.
    async fn list(&self, page: &PageRequest) -> Result<Page<LoginUser>, StoreError>;
}

/// What a revocation reaches: one access token, or every access token issued (at or before the
/// revocation) from a grant, to a client, or for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked<'a> {
    /// The access token with this `jti`.
    Token(&'a str),
    /// Every access token issued from this grant (the `grant_id` claim).
    Grant(&'a str),
    /// Every access token issued to this client.
    Client(&'a str),
    /// Every access token issued for this user (`sub`).
    User(&'a str),
}

/// What the resource server knows of a verified access token, as [`RevocationList::is_revoked`]
/// needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenIdentity<'a> {
    pub jti: &'a str,
    /// Tokens issued before grants were named in tokens carry none.
    pub grant_id: Option<&'a str>,
    pub client_id: &'a str,
    pub sub: &'a str,
    /// Issued at (epoch seconds).
    pub iat: i64,
}

/// Revocations of access tokens, kept until every token they reach has expired
/// (`REVOKED#<jti>`, `REVOKEDGRANT#<id>`, `REVOKEDCLIENT#<id>`, `REVOKEDUSER#<sub>`, sort key
/// `REVOKED`); the resource server consults them on every request.
#[async_trait]
pub trait RevocationList: Send + Sync {
    /// Revokes what `what` names, for tokens issued at or before now; the entry is kept until
    /// `keep_until` (epoch seconds), which must be at least the latest expiry, leeway included,
    /// of a token it reaches. Idempotent; a later revocation of the same thing moves its
    /// instant forward.
    async fn revoke(&self, what: Revoked<'_>, keep_until: i64) -> Result<(), StoreError>;
    /// Whether any revocation reaches the token: its `jti`, its grant, its client or its user
    /// revoked at or after it was issued. One read of at most four keys (a single request on
    /// DynamoDB), so checking costs one round trip.
    async fn is_revoked(&self, token: &TokenIdentity<'_>) -> Result<bool, StoreError>;
}

/// Every port, as the routers use them.
#[derive(Clone)]
pub struct Stores {
    pub clients: Arc<dyn ClientStore>,
    pub pending: Arc<dyn PendingAuthorizationStore>,
    pub codes: Arc<dyn AuthorizationCodeStore>,
    pub grants: Arc<dyn GrantStore>,
    pub consents: Arc<dyn ConsentStore>,
    pub audit: Arc<dyn AuditStore>,
    pub rate_limits: Arc<dyn RateLimitStore>,
    pub cache: Arc<dyn CacheStore>,
    pub login_users: Arc<dyn LoginUserStore>,
    pub revocations: Arc<dyn RevocationList>,
}

impl Stores {
    /// All ports over one backend.
    pub fn new(backend: Arc<dyn item::ItemBackend>, clock: Arc<dyn Clock>) -> Self {
        let store = Arc::new(ItemStore::new(backend, clock));
        Self {
            clients: store.clone(),
            pending: store.clone(),
            codes: store.clone(),
            grants: store.clone(),
            consents: store.clone(),
            audit: store.clone(),
            rate_limits: store.clone(),
            cache: store.clone(),
            login_users: store.clone(),
            revocations: store,
        }
    }
}

/// Opens the configured backend: the SQLite file (its folder created if needed, mode 0700) or
/// the DynamoDB table (the AWS SDK's standard configuration chain, `AWS_ENDPOINT_URL` included).
pub async fn connect(
    config: &crate::config::StoreConfig,
    clock: Arc<dyn Clock>,
) -> Result<Stores, StoreError> {
    let backend: Arc<dyn item::ItemBackend> = match config {
        crate::config::StoreConfig::Sqlite { path } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)?;
            }
            let path = path.clone();
            let backend = tokio::task::spawn_blocking(move || sqlite::SqliteBackend::open(&path))
                .await
                .map_err(|_| StoreError::Unavailable("sqlite open task failed".into()))??;
            Arc::new(backend)
        }
        crate::config::StoreConfig::Dynamo { table } => {
            Arc::new(dynamo::DynamoBackend::from_env(table).await)
        }
    };
    Ok(Stores::new(backend, clock))
}

/// Creates a directory (and parents) readable only by this user.
pub fn create_private_dir(dir: &std::path::Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {}", dir.display(), e.kind()))
        })
}
