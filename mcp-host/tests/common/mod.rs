//! What the mcp-host tests share: a local signing key as the issuer, the protection of a
//! resource (its configuration, the issuer's keys in process, a clock, an in-memory store's
//! revocations), and tokens minted for a scope.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::Arc;

use mcp_host::{InProcessJwks, Protection};
use shared::clock::{Clock, ManualClock};
use shared::config::Config;
use shared::store::sqlite::SqliteBackend;
use shared::store::{RevocationList, Stores};
use shared::token::{LocalSigner, TokenIssuer};

/// An issuer of tokens from `iss` for `resource`, with a key in a temporary directory named by
/// `tag` and the process id.
pub fn issuer(tag: &str, iss: &str, resource: &str) -> TokenIssuer {
    let dir = std::env::temp_dir().join(format!("mcp-host-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let signer = Arc::new(LocalSigner::load_or_create(&dir).unwrap());
    TokenIssuer::new(signer, iss, resource, 3600)
}

/// `resource` protected with `issuer`'s keys, at `now`, with no revocations.
pub fn protection(issuer: &'static TokenIssuer, iss: &str, resource: &str, now: i64) -> Protection {
    protection_with(issuer, iss, resource, now, |stores| {
        stores.revocations.clone()
    })
}

/// `resource` protected with `issuer`'s keys, at `now`, with the revocation list `revocations`
/// makes of an in-memory store.
pub fn protection_with(
    issuer: &'static TokenIssuer,
    iss: &str,
    resource: &str,
    now: i64,
    revocations: impl FnOnce(&Stores) -> Arc<dyn RevocationList>,
) -> Protection {
    let pairs = [("SMCP_ISSUER", iss), ("SMCP_RESOURCE", resource)];
    let config = Config::from_lookup(|k| {
        pairs
            .iter()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(now));
    let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock.clone());
    let jwks = Arc::new(InProcessJwks::new(|| issuer.jwks()));
    Protection::new(Arc::new(config), jwks, clock, revocations(&stores))
}

/// An access token of `issuer` for user-1 of client-1 with `scope`, issued at `now`.
pub async fn token(issuer: &TokenIssuer, scope: &str, now: i64) -> String {
    let (token, _) = issuer
        .mint("user-1", "client-1", scope, &[], now)
        .await
        .unwrap();
    token.expose().to_owned()
}
