//! The audit trail's events: what happened ([`AuditKind`]), to which client and user, from
//! where, with typed details. The kinds and detail keys are defined here only, so every writer
//! (the authorization flows, the admin CLI) and every reader stores and reads the same strings.
//! An event never carries a token, code, secret or password.

mod admin;
mod kind;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use kind::AuditKind;

use crate::oauth::client_id::ClientId;
use crate::oauth::scope::Scope;
use crate::secret::random_id;
use crate::store::ClientRecord;

/// The detail keys, as stored.
mod key {
    pub const CLIENT_NAME: &str = "client_name";
    pub const REDIRECT_URIS: &str = "redirect_uris";
    pub const TOKEN_ENDPOINT_AUTH_METHOD: &str = "token_endpoint_auth_method";
    pub const SCOPE: &str = "scope";
    pub const STEP: &str = "step";
    pub const REASON: &str = "reason";
    pub const UPSTREAM_ERROR: &str = "upstream_error";
    pub const GRANT_TYPE: &str = "grant_type";
    pub const JTI: &str = "jti";
    pub const GRANT_ID: &str = "grant_id";
    pub const GRANT_REVOKED: &str = "grant_revoked";
    pub const GRANTS_REVOKED: &str = "grants_revoked";
    pub const GROUPS: &str = "groups";
    pub const PREVIOUS_GROUPS: &str = "previous_groups";
    pub const CONSENTS_REVOKED: &str = "consents_revoked";
    pub const KID: &str = "kid";
    pub const PREVIOUS_KID: &str = "previous_kid";
    pub const STORE: &str = "store";
    pub const SOURCE: &str = "source";
    pub const OPERATOR: &str = "operator";
}

/// Why the flows revoked a grant, as the `reason` detail says it.
const REVOKED_BY_CLIENT: &str = "revoked by the client";
const USER_GONE_UPSTREAM: &str = "user disabled or deleted upstream";
/// The `source` detail of an event the operator's command line wrote.
const CLI_SOURCE: &str = "cli";

/// One audit event (`AUDIT#<yyyy-mm-dd>#<nn>` / `<ts>#<id>`, sharded), also listed per client.
/// Built by the constructors below, one per kind, which set exactly the details that kind has
/// always been stored with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    /// Epoch milliseconds.
    pub at_ms: i64,
    /// What happened, stored as e.g. `client.registered`.
    pub kind: AuditKind,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Per-kind details (string keys, as stored); read through the typed readers.
    pub(crate) detail: Map<String, Value>,
}

/// When and from where an event comes: a request (its address and user agent) or the
/// operator's command line (whose events also say `source=cli` and name the operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    at_ms: i64,
    source_ip: Option<String>,
    user_agent: Option<String>,
    /// `Some` for the command line, holding the operator when known.
    cli: Option<Option<String>>,
}

impl Origin {
    /// An HTTP request received at `at_ms` (epoch milliseconds).
    pub fn request(at_ms: i64, source_ip: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            at_ms,
            source_ip,
            user_agent,
            cli: None,
        }
    }

    /// The admin command line, run by `operator` when known.
    pub fn cli(at_ms: i64, user_agent: String, operator: Option<String>) -> Self {
        Self {
            at_ms,
            source_ip: None,
            user_agent: Some(user_agent),
            cli: Some(operator),
        }
    }
}

impl AuditEvent {
    fn new(origin: &Origin, kind: AuditKind, client_id: Option<&str>, sub: Option<&str>) -> Self {
        let mut detail = Map::new();
        if let Some(operator) = &origin.cli {
            detail.insert(key::SOURCE.into(), Value::from(CLI_SOURCE));
            if let Some(operator) = operator {
                detail.insert(key::OPERATOR.into(), Value::from(operator.as_str()));
            }
        }
        Self {
            id: random_id(),
            at_ms: origin.at_ms,
            kind,
            client_id: client_id.map(str::to_owned),
            sub: sub.map(str::to_owned),
            source_ip: origin.source_ip.clone(),
            user_agent: origin.user_agent.clone(),
            detail,
        }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    fn client(origin: &Origin, kind: AuditKind, client: &ClientRecord) -> Self {
        let metadata = &client.metadata;
        Self::new(origin, kind, Some(client.client_id.as_str()), None)
            .with(key::CLIENT_NAME, json!(metadata.client_name))
            .with(key::REDIRECT_URIS, json!(metadata.redirect_uris))
            .with(
                key::TOKEN_ENDPOINT_AUTH_METHOD,
                json!(metadata.token_endpoint_auth_method),
            )
    }

    /// `client.registered`: the client's name, redirect URIs and authentication method.
    pub fn client_registered(origin: &Origin, client: &ClientRecord) -> Self {
        Self::client(origin, AuditKind::ClientRegistered, client)
    }

    /// `client.updated`: as registered, with the new metadata.
    pub fn client_updated(origin: &Origin, client: &ClientRecord) -> Self {
        Self::client(origin, AuditKind::ClientUpdated, client)
    }

    /// `client.deleted`: the metadata the client had.
    pub fn client_deleted(origin: &Origin, client: &ClientRecord) -> Self {
        Self::client(origin, AuditKind::ClientDeleted, client)
    }

    /// `consent.given` for `scope` (the user is not known before the login).
    pub fn consent_given(origin: &Origin, client_id: &ClientId, scope: &Scope) -> Self {
        Self::new(
            origin,
            AuditKind::ConsentGiven,
            Some(client_id.as_str()),
            None,
        )
        .with(key::SCOPE, scope.to_scope_string())
    }

    /// `consent.denied`.
    pub fn consent_denied(origin: &Origin, client_id: &ClientId) -> Self {
        Self::new(
            origin,
            AuditKind::ConsentDenied,
            Some(client_id.as_str()),
            None,
        )
    }

    /// `authorization.other_browser`, refused at `step`.
    pub fn authorization_other_browser(origin: &Origin, client_id: &ClientId, step: &str) -> Self {
        Self::new(
            origin,
            AuditKind::AuthorizationOtherBrowser,
            Some(client_id.as_str()),
            None,
        )
        .with(key::STEP, step)
    }

    /// `login`: the user signed in upstream.
    pub fn login(origin: &Origin, client_id: &ClientId, sub: &str) -> Self {
        Self::new(
            origin,
            AuditKind::Login,
            Some(client_id.as_str()),
            Some(sub),
        )
    }

    /// `login.failed` for `reason`.
    pub fn login_failed(origin: &Origin, client_id: &ClientId, reason: &str) -> Self {
        Self::new(
            origin,
            AuditKind::LoginFailed,
            Some(client_id.as_str()),
            None,
        )
        .with(key::REASON, reason)
    }

    /// `login.failed` because the upstream provider answered with `upstream_error`.
    pub fn login_failed_upstream(
        origin: &Origin,
        client_id: &ClientId,
        upstream_error: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::LoginFailed,
            Some(client_id.as_str()),
            None,
        )
        .with(key::UPSTREAM_ERROR, upstream_error)
    }

    /// `code.issued` for `scope`.
    pub fn code_issued(origin: &Origin, client_id: &ClientId, sub: &str, scope: &Scope) -> Self {
        Self::new(
            origin,
            AuditKind::CodeIssued,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::SCOPE, scope.to_scope_string())
    }

    /// `code.replayed`, saying whether the code's grant was revoked for it.
    pub fn code_replayed(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_revoked: bool,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::CodeReplayed,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(
            key::GRANT_REVOKED,
            if grant_revoked { "true" } else { "false" },
        )
    }

    /// `token.issued` by the authorization-code grant: the access token's `jti`, its scope and
    /// the grant it belongs to.
    pub fn token_issued(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
        jti: &str,
        scope: &Scope,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::TokenIssued,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_TYPE, "authorization_code")
        .with(key::SCOPE, scope.to_scope_string())
        .with(key::JTI, jti)
        .with(key::GRANT_ID, grant_id)
    }

    /// `token.refreshed`: the grant, the new access token's `jti` and scope.
    pub fn token_refreshed(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
        jti: &str,
        scope: &Scope,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::TokenRefreshed,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_ID, grant_id)
        .with(key::SCOPE, scope.to_scope_string())
        .with(key::JTI, jti)
    }

    /// `refresh.grace`: the grant's previous refresh token came back within the grace period.
    pub fn refresh_grace(origin: &Origin, client_id: &ClientId, sub: &str, grant_id: &str) -> Self {
        Self::new(
            origin,
            AuditKind::RefreshGrace,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_ID, grant_id)
    }

    /// `refresh.reuse_detected`: a replaced refresh token of the grant came back.
    pub fn refresh_reuse_detected(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::RefreshReuseDetected,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_ID, grant_id)
    }

    /// `grant.revoked` by the client (RFC 7009, with its refresh token).
    pub fn grant_revoked_by_client(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::GrantRevoked,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::REASON, REVOKED_BY_CLIENT)
        .with(key::GRANT_ID, grant_id)
    }

    /// `grant.revoked` at a refresh because the user is disabled or deleted upstream (stored
    /// without the grant id, as it always was).
    pub fn grant_revoked_user_gone(origin: &Origin, client_id: &ClientId, sub: &str) -> Self {
        Self::new(
            origin,
            AuditKind::GrantRevoked,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::REASON, USER_GONE_UPSTREAM)
    }

    /// `access_token.revoked` by the client (RFC 7009): the token's `jti`.
    pub fn access_token_revoked(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        jti: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::AccessTokenRevoked,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::JTI, jti)
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.detail.get(key).and_then(Value::as_str)
    }

    /// The grant the event concerns, when it names one.
    pub fn grant_id(&self) -> Option<&str> {
        self.text(key::GRANT_ID)
    }

    /// The access token (its `jti`) the event concerns, when it names one.
    pub fn jti(&self) -> Option<&str> {
        self.text(key::JTI)
    }

    /// The scope consented to, issued or refreshed.
    pub fn scope(&self) -> Option<&str> {
        self.text(key::SCOPE)
    }

    /// Why it happened (a revocation, a failed login, an operator's reason).
    pub fn reason(&self) -> Option<&str> {
        self.text(key::REASON)
    }

    /// Where an event without an address came from (`cli` for the admin command line).
    pub fn source(&self) -> Option<&str> {
        self.text(key::SOURCE)
    }

    /// The operator who ran the admin command, when known.
    pub fn operator(&self) -> Option<&str> {
        self.text(key::OPERATOR)
    }

    /// How many grants an admin action revoked.
    pub fn grants_revoked(&self) -> Option<u64> {
        self.detail.get(key::GRANTS_REVOKED).and_then(Value::as_u64)
    }

    /// Every detail but [`Self::source`] (shown apart), in key order, for display.
    pub fn other_details(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.detail
            .iter()
            .filter(|(k, _)| k.as_str() != key::SOURCE)
            .map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests;
