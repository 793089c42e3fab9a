//! Consents recorded per (user, client): the record, its port and its item mapping
//! (`USER#<sub>` / `CONSENT#<client_id>`, listed per user by client_id).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::item::{Condition, Index};
use super::item_store::{ItemStore, encode};
use super::{Page, PageRequest, StoreError};
use crate::oauth::client_id::ClientId;
use crate::oauth::redirect_uri::{RedirectUri, set_digest};
use crate::oauth::scope::Scope;

/// A user's recorded approval of a client (`USER#<sub>` / `CONSENT#<client_id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub sub: String,
    pub client_id: ClientId,
    pub scope: Scope,
    pub granted_at: i64,
    /// [`set_digest`] of the client's redirect URIs when the user
    /// approved it; absent in records written before approvals were bound to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris_digest: Option<String>,
}

impl ConsentRecord {
    /// Whether this consent was given to the client with exactly these redirect URIs (in any
    /// order): a consent recorded before a change of `redirect_uris`, or without a digest,
    /// covers nothing.
    pub fn covers_redirect_uris(&self, redirect_uris: &[RedirectUri]) -> bool {
        self.redirect_uris_digest.as_deref() == Some(set_digest(redirect_uris).as_str())
    }
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

fn consent_key(sub: &str, client_id: &str) -> (String, String) {
    (format!("USER#{sub}"), format!("CONSENT#{client_id}"))
}

#[async_trait]
impl ConsentStore for ItemStore {
    async fn put(&self, consent: &ConsentRecord) -> Result<(), StoreError> {
        let (pk, sk) = consent_key(&consent.sub, consent.client_id.as_str());
        let item = encode(pk, sk, None, consent)?;
        self.backend
            .put(&item, Condition::Always, self.now())
            .await
            .map(drop)
    }

    async fn get(&self, sub: &str, client_id: &str) -> Result<Option<ConsentRecord>, StoreError> {
        let (pk, sk) = consent_key(sub, client_id);
        self.get_record(&pk, &sk).await
    }

    async fn delete(&self, sub: &str, client_id: &str) -> Result<bool, StoreError> {
        let (pk, sk) = consent_key(sub, client_id);
        self.backend.delete(&pk, &sk, self.now()).await
    }

    async fn list_for_user(
        &self,
        sub: &str,
        page: &PageRequest,
    ) -> Result<Page<ConsentRecord>, StoreError> {
        self.list(
            Index::Primary,
            vec![format!("USER#{sub}")],
            "CONSENT#",
            page,
        )
        .await
    }
}
