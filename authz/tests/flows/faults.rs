//! The store going away mid-flow: OAuth endpoints answer 503 `temporarily_unavailable`, the
//! process keeps serving, nothing half-written is left, and the same requests succeed once the
//! store is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shared::store::item::{Condition, Index, Item, ItemBackend};
use shared::store::sqlite::SqliteBackend;
use shared::store::{PageRequest, StoreError};

use crate::support::*;

/// SQLite that can be switched off: every call fails as an unreachable store would.
struct Switchable {
    inner: SqliteBackend,
    down: AtomicBool,
    /// Only the revocation list (`REVOKED…` items) unreadable.
    revocations_down: AtomicBool,
}

impl Switchable {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ItemBackend for Switchable {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        self.check()?;
        if pk.starts_with("REVOKED") && self.revocations_down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("connection refused".into()));
        }
        self.inner.get(pk, sk, now).await
    }

    async fn put(&self, item: &Item, condition: Condition, now: i64) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.put(item, condition, now).await
    }

    async fn put_all(&self, writes: &[(Item, Condition)], now: i64) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.put_all(writes, now).await
    }

    async fn take(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        self.check()?;
        self.inner.take(pk, sk, now).await
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
        self.check()?;
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
        self.check()?;
        self.inner.increment(pk, sk, expires_at, now).await
    }
}

/// A public client's registration (to see `/register` answer during a fault).
pub(crate) fn registration() -> Request<Body> {
    Request::post("/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none","client_name":"x"}}"#
        )))
        .unwrap()
}

/// The `/token` form exchanging `code` for the public client.
pub(crate) fn exchange(code: &str) -> [(&str, &str); 4] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]
}

/// How many grants the test user holds.
pub(crate) async fn user_grants(stand: &Stand) -> usize {
    stand
        .stores
        .grants
        .list_for_user(USER, &PageRequest::first(10))
        .await
        .unwrap()
        .items
        .len()
}

/// A 503 `temporarily_unavailable` JSON answer that is never cached.
pub(crate) fn assert_unavailable(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        reply.body
    );
    assert_eq!(reply.error(), "temporarily_unavailable", "{what}");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
}

/// The StoreErrors counter's total in this process.
fn store_errors() -> u64 {
    shared::metrics::totals()
        .series
        .iter()
        .find(|s| s.name == shared::metrics::Metric::StoreErrors.name())
        .map_or(0, |s| s.value)
}

#[tokio::test]
async fn store_outage_answers_503_leaves_nothing_half_written_and_recovers() {
    let backend = Arc::new(Switchable {
        inner: SqliteBackend::in_memory().unwrap(),
        down: AtomicBool::new(false),
        revocations_down: AtomicBool::new(false),
    });
    let stand = Stand::with_backend(backend.clone()).await;
    let code = stand.code_for(PUBLIC).await;
    let exchange = exchange(&code);

    backend.down.store(true, Ordering::SeqCst);
    let errors_before = store_errors();
    let refused = stand.token(&public(), &exchange).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    // The operators' StoreErrors counter (process-wide; other tests only ever add to it).
    assert!(store_errors() > errors_before, "the failure is counted");
    assert_eq!(refused.error(), "temporarily_unavailable");
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    let register = stand.send(registration()).await;
    assert_eq!(register.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(register.error(), "temporarily_unavailable");
    let page = stand
        .get(
            &stand.authorize_url(PUBLIC, REDIRECT, &[("state", "s")]),
            "",
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the authorize endpoint cannot check the client: an error page, no redirect"
    );
    assert!(page.header("location").is_none());

    backend.down.store(false, Ordering::SeqCst);
    let grants = stand
        .stores
        .grants
        .list_for_user(USER, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(
        grants.items.is_empty(),
        "no grant was written during the outage"
    );
    let tokens = stand.token(&public(), &exchange).await;
    assert_eq!(
        tokens.status,
        StatusCode::OK,
        "the unredeemed code still works: {}",
        tokens.body
    );
    let register = stand.send(registration()).await;
    assert_eq!(register.status, StatusCode::CREATED);
}

/// Introspection during a store outage is 503 `temporarily_unavailable`, never an active (or
/// inactive) answer: a resource server must not take an unknown revocation state for either.
#[tokio::test]
async fn introspection_in_a_store_outage_is_unavailable_never_active() {
    let backend = Arc::new(Switchable {
        inner: SqliteBackend::in_memory().unwrap(),
        down: AtomicBool::new(false),
        revocations_down: AtomicBool::new(false),
    });
    let stand = Stand::with_backend(backend.clone()).await;
    stand.add_resource_server("rs", &[RESOURCE]).await;
    let tokens = stand.tokens_for(&public()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let form = [
        ("token", access),
        ("client_id", "rs"),
        ("client_secret", RS_SECRET),
    ];
    backend.down.store(true, Ordering::SeqCst);
    let refused = stand.post_form("/introspect", &form, &[]).await;
    assert_unavailable(&refused, "introspection during the outage");
    backend.down.store(false, Ordering::SeqCst);
    // The revocation list alone unreadable: still no answer about the token.
    backend.revocations_down.store(true, Ordering::SeqCst);
    let refused = stand.post_form("/introspect", &form, &[]).await;
    assert_unavailable(
        &refused,
        "introspection with the revocation list unreadable",
    );
    backend.revocations_down.store(false, Ordering::SeqCst);
    let answered = stand.post_form("/introspect", &form, &[]).await;
    assert_eq!(answered.json()["active"], true, "{}", answered.body);
}
