//! The audit trail's events: what happened ([`AuditKind`]), to which client and user, from
//! where, with typed details. The kinds and detail keys are defined here only, so every writer
//! (the authorization flows, the admin CLI) and every reader stores and reads the same strings.
//! An event never carries a token, code, secret or password.

mod admin;
mod kind;
mod request;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use kind::AuditKind;

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
    pub const ACTIVE: &str = "active";
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
