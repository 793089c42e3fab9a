//! Storage ports, one per aggregate (docs/architecture.md, "Storage"), and the records they keep:
//! the store by aggregate, each aggregate's record, port and item mapping together in its own
//! module (`clients`, `authorizations`, `grants`, `consents`, `logins`, `audit`, `limits`,
//! `revocations`), re-exported here.
//!
//! Every port is implemented once by [`ItemStore`] over the single-table item model
//! ([`item::ItemBackend`]), which the DynamoDB and SQLite adapters provide. Secrets are never
//! stored: codes, refresh tokens, client secrets and registration tokens appear only as SHA-256
//! hashes. Ports return `Option`/`bool` for "absent" or "lost the race", so `?` carries only
//! infrastructure failures.

mod audit;
mod authorizations;
mod clients;
mod consents;
pub mod dynamo;
mod error;
mod grants;
pub mod item;
mod item_store;
mod limits;
mod logins;
mod profiles;
mod revocations;
pub mod shard;
pub mod sqlite;

#[cfg(test)]
mod contract;
#[cfg(test)]
mod counting_backend;
#[cfg(test)]
mod workload_tests;

use std::sync::Arc;

pub use crate::audit::AuditEvent;
pub use audit::{AuditQuery, AuditStore};
pub use authorizations::{
    AuthorizationCodeStore, CodeRecord, PendingAuthorization, PendingAuthorizationStore,
};
pub use clients::{ClientKind, ClientRecord, ClientStatus, ClientStore};
pub use consents::{ConsentRecord, ConsentStore};
pub use error::StoreError;
pub use grants::{GrantRecord, GrantStatus, GrantStore, MAX_SUPERSEDED_REFRESH_HASHES};
pub use item_store::ItemStore;
pub use limits::{CacheKind, CacheStore, CachedValue, RateLimitStore};
pub use logins::{LoginUser, LoginUserStore};
pub use profiles::{UserProfile, UserProfileStore};
pub use revocations::{RevocationList, Revoked, TokenIdentity};

use crate::clock::Clock;

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
    pub profiles: Arc<dyn UserProfileStore>,
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
            profiles: store.clone(),
            revocations: store,
        }
    }
}

/// Opens the configured backend: the SQLite file (its folder created if needed, mode 0700) or
/// the DynamoDB table (through the process's AWS configuration, resolved now if not yet).
pub async fn connect(
    config: &crate::config::StoreConfig,
    clock: Arc<dyn Clock>,
    aws: &crate::aws::Aws,
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
        crate::config::StoreConfig::Dynamo { table } => Arc::new(
            dynamo::DynamoBackend::from_sdk_config(aws.sdk().await, table),
        ),
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
