//! Registered clients: the record, its port and its item mapping (`CLIENT#<id>` / `CLIENT`,
//! listed by registration time on GSI1 under `CLIENTS`, sharded: [`super::shard`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::item::{Condition, Index, Item};
use super::item_store::{CAS_ATTEMPTS, ItemStore, encode};
use super::shard::{self, CLIENT_LIST_SHARDS};
use super::{Page, PageRequest, StoreError};
use crate::clock::rfc3339;
use crate::oauth::client_id::ClientId;
use crate::oauth::client_metadata::ClientMetadata;
use crate::oauth::resource::ResourceUri;
use crate::secret::Sha256Hex;

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
    /// A resource server configured by an operator (`admin clients add --resource-server`): it
    /// authenticates only at the introspection endpoint (RFC 7662 §2.1), for the resources in
    /// [`ClientRecord::resources`], and is refused wherever an OAuth client is expected.
    ResourceServer,
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
    pub client_id: ClientId,
    pub kind: ClientKind,
    pub status: ClientStatus,
    pub metadata: ClientMetadata,
    /// SHA-256 (hex) of the client secret, for confidential clients.
    pub secret_hash: Option<Sha256Hex>,
    /// SHA-256 (hex) of the RFC 7592 registration access token.
    pub registration_token_hash: Option<Sha256Hex>,
    pub created_at: i64,
    pub created_ip: Option<String>,
    pub created_user_agent: Option<String>,
    pub last_used_at: Option<i64>,
    /// Bumped by every successful [`ClientStore::replace`]; the compare-and-set guard.
    pub revision: u64,
    /// Unused dynamic clients expire; use renews this.
    pub expires_at: Option<i64>,
    /// For a [`ClientKind::ResourceServer`]: the resource URLs (RFC 8707) it serves, the only
    /// audiences whose tokens it may introspect. Empty for every other kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceUri>,
}

impl ClientRecord {
    /// Whether this record is a resource server rather than an OAuth client.
    pub fn is_resource_server(&self) -> bool {
        self.kind == ClientKind::ResourceServer
    }
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

fn client_key(client_id: &str) -> (String, String) {
    (format!("CLIENT#{client_id}"), "CLIENT".into())
}

/// The listing of all clients, before sharding (GSI1).
const CLIENTS: &str = "CLIENTS";

fn client_item(client: &ClientRecord) -> Result<Item, StoreError> {
    let (pk, sk) = client_key(client.client_id.as_str());
    let gsi1 = (
        shard::key_for(CLIENTS, client.client_id.as_str(), CLIENT_LIST_SHARDS),
        format!("{}#{}", rfc3339(client.created_at), client.client_id),
    );
    encode(pk, sk, Some(gsi1), client)
}

#[async_trait]
impl ClientStore for ItemStore {
    async fn create(&self, client: &ClientRecord) -> Result<bool, StoreError> {
        let item = client_item(client)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn get(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let (pk, sk) = client_key(client_id);
        self.get_record(&pk, &sk).await
    }

    async fn replace(&self, client: &ClientRecord) -> Result<bool, StoreError> {
        let mut next = client.clone();
        next.revision = client.revision.saturating_add(1);
        let item = client_item(&next)?;
        let guard = Condition::Equals("revision", Value::from(client.revision));
        self.backend.put(&item, guard, self.now()).await
    }

    async fn delete(&self, client_id: &str) -> Result<bool, StoreError> {
        let (pk, sk) = client_key(client_id);
        self.backend.delete(&pk, &sk, self.now()).await
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<ClientRecord>, StoreError> {
        let partitions = shard::partitions(CLIENTS, CLIENT_LIST_SHARDS);
        self.list(Index::Gsi1, partitions, "", page).await
    }

    async fn list_since(
        &self,
        since: i64,
        page: &PageRequest,
    ) -> Result<Page<ClientRecord>, StoreError> {
        // Keys are `<created>#<id>`, so every key at or after `since` sorts after the bare time.
        let start = rfc3339(since);
        let after = match &page.after {
            Some(after) if *after > start => after.clone(),
            _ => start,
        };
        let page = PageRequest {
            after: Some(after),
            limit: page.limit,
        };
        let partitions = shard::partitions(CLIENTS, CLIENT_LIST_SHARDS);
        self.list(Index::Gsi1, partitions, "", &page).await
    }

    async fn set_status(
        &self,
        client_id: &str,
        status: ClientStatus,
    ) -> Result<Option<ClientRecord>, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = ClientStore::get(self, client_id).await? else {
                return Ok(None);
            };
            if current.status == status {
                return Ok(Some(current));
            }
            let next = ClientRecord {
                status,
                // A client that identifies with a metadata document comes back by itself when
                // its record expires: turned off, the record is kept until turned on again.
                expires_at: if current.kind == ClientKind::Cimd && status != ClientStatus::Active {
                    None
                } else {
                    current.expires_at
                },
                ..current.clone()
            };
            if self.replace(&next).await? {
                return Ok(Some(ClientRecord {
                    revision: current.revision.saturating_add(1),
                    ..next
                }));
            }
        }
        Err(StoreError::Unavailable(format!(
            "client {client_id} kept changing while its status was set"
        )))
    }
}
