//! Authorization requests between `/authorize` and `/callback` (`AUTHREQ#<id>`) and the codes
//! issued at the end of them (`CODE#<sha256>`): the records, their ports and their item mapping.
//! Redeeming a code stores its grant and audit event in the same all-or-nothing write.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::audit::audit_item;
use super::grants::{client_grant_item, grant_item};
use super::item::{Condition, Item};
use super::item_store::{ItemStore, decode, encode};
use super::{AuditEvent, GrantRecord, StoreError};
use crate::oauth::client_id::ClientId;
use crate::oauth::redirect_uri::RedirectUri;
use crate::oauth::resource::ResourceUri;
use crate::oauth::scope::Scope;
use crate::secret::Sha256Hex;

/// How long a redeemed code's item is kept after its validity ends, to recognise replays.
pub const CODE_REPLAY_RETENTION_SECS: i64 = 600;

/// An authorization request waiting for consent and the upstream login (`AUTHREQ#<id>`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub id: String,
    pub client_id: ClientId,
    pub redirect_uri: RedirectUri,
    pub code_challenge: String,
    pub scope: Scope,
    pub resource: ResourceUri,
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
    pub code_hash: Sha256Hex,
    pub client_id: ClientId,
    pub redirect_uri: RedirectUri,
    pub code_challenge: String,
    pub scope: Scope,
    pub resource: ResourceUri,
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

fn pending_key(id: &str) -> (String, String) {
    (format!("AUTHREQ#{id}"), "AUTHREQ".into())
}

#[async_trait]
impl PendingAuthorizationStore for ItemStore {
    async fn put(&self, request: &PendingAuthorization) -> Result<bool, StoreError> {
        let (pk, sk) = pending_key(&request.id);
        let item = encode(pk, sk, None, request)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn get(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        let (pk, sk) = pending_key(id);
        self.get_record(&pk, &sk).await
    }

    async fn take(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        let (pk, sk) = pending_key(id);
        match self.backend.take(&pk, &sk, self.now()).await? {
            Some(item) => decode(item).map(Some),
            None => Ok(None),
        }
    }
}

fn code_key(hash: &str) -> (String, String) {
    (format!("CODE#{hash}"), "CODE".into())
}

fn code_item(code: &CodeRecord, redeemed: bool) -> Result<Item, StoreError> {
    let (pk, sk) = code_key(code.code_hash.as_str());
    let mut item = encode(pk, sk, None, code)?;
    item.attrs.insert("redeemed".into(), Value::Bool(redeemed));
    item.expires_at = Some(code.valid_until.saturating_add(CODE_REPLAY_RETENTION_SECS));
    Ok(item)
}

#[async_trait]
impl AuthorizationCodeStore for ItemStore {
    async fn put(&self, code: &CodeRecord) -> Result<bool, StoreError> {
        let item = code_item(code, false)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn peek(&self, code_hash: &str) -> Result<Option<(CodeRecord, bool)>, StoreError> {
        let (pk, sk) = code_key(code_hash);
        let Some(mut item) = self.backend.get(&pk, &sk, self.now()).await? else {
            return Ok(None);
        };
        let redeemed = item.attrs.remove("redeemed") == Some(Value::Bool(true));
        item.expires_at = None;
        Ok(Some((decode(item)?, redeemed)))
    }

    async fn redeem_into_grant(
        &self,
        code: &CodeRecord,
        grant: Option<&GrantRecord>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut writes = vec![(
            code_item(code, true)?,
            Condition::Equals("redeemed", Value::Bool(false)),
        )];
        if let Some(grant) = grant {
            writes.push((client_grant_item(grant), Condition::Always));
            writes.push((grant_item(grant)?, Condition::Absent));
        }
        writes.push((audit_item(event)?, Condition::Always));
        self.backend.put_all(&writes, self.now()).await
    }

    async fn redeem(&self, code_hash: &str) -> Result<bool, StoreError> {
        let (pk, sk) = code_key(code_hash);
        let now = self.now();
        let Some(mut item) = self.backend.get(&pk, &sk, now).await? else {
            return Ok(false);
        };
        if item.attrs.remove("redeemed") == Some(Value::Bool(true)) {
            return Ok(false);
        }
        item.expires_at = None;
        let record: CodeRecord = decode(item)?;
        let marked = code_item(&record, true)?;
        let guard = Condition::Equals("redeemed", Value::Bool(false));
        self.backend.put(&marked, guard, now).await
    }
}
