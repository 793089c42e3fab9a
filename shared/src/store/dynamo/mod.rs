//! The DynamoDB adapter: [`ItemBackend`] over the single table (docs/architecture.md, "Storage"),
//! with every guarantee of the trait carried by a DynamoDB condition expression, so it holds across
//! processes and Lambda instances.
//!
//! This module builds the client (its timeouts) and words failures; the operations are in
//! `operations.rs`, the condition and key expressions in `expressions.rs`, the attribute mapping
//! in `convert.rs` and table creation in `table.rs`.
//!
//! [`ItemBackend`]: super::item::ItemBackend

mod convert;
mod expressions;
mod operations;
mod table;
#[cfg(test)]
mod transaction_tests;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use super::StoreError;

/// Name of the listing index.
const GSI1: &str = "GSI1";

/// How long opening a connection to DynamoDB may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one attempt of a request may take (a single-item request normally takes a few
/// milliseconds); a timed-out attempt is retried by the SDK's standard retry policy.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a request may take over all its attempts: past it the store reports itself
/// unavailable, so an endpoint answers 503 rather than hanging.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// [`ItemBackend`](super::item::ItemBackend) over one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoBackend {
    client: Client,
    table: String,
}

impl DynamoBackend {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A backend over an SDK configuration, with the store's request timeouts
    /// ([`ATTEMPT_TIMEOUT`], [`OPERATION_TIMEOUT`]) in place of the SDK's, which bound only the
    /// connect: a table that accepts connections but never answers would otherwise hold a
    /// request, and the caller waiting on it, forever.
    pub fn from_sdk_config(config: &aws_config::SdkConfig, table: &str) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let config = aws_sdk_dynamodb::config::Builder::from(config)
            .timeout_config(timeouts)
            .build();
        Self::new(Client::from_conf(config), table)
    }

    /// The table this backend reads and writes.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Describes a failed request in our own words: the operation and DynamoDB's error code (or the
/// kind of transport failure), never the SDK's message, which can echo request contents.
fn sdk_failure<E: ProvideErrorMetadata, R>(
    operation: &'static str,
    error: &SdkError<E, R>,
) -> StoreError {
    let cause = match error {
        SdkError::ServiceError(_) => error.code().unwrap_or("unrecognized service error"),
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(failure) if failure.is_timeout() => "connection timed out",
        SdkError::DispatchFailure(failure) if failure.is_io() => "network I/O error",
        SdkError::DispatchFailure(_) => "request could not be sent",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ConstructionFailure(_) => "request could not be built",
        _ => "unknown SDK failure",
    };
    tracing::debug!(operation, cause, "DynamoDB request failed");
    StoreError::Unavailable(format!("DynamoDB {operation} failed: {cause}"))
}

/// A backend on a fresh, uniquely named table in the moto server that `tests/run.sh` starts. Fails
/// loudly without one: the DynamoDB tests are never skipped.
#[cfg(test)]
pub(crate) async fn test_backend() -> std::sync::Arc<DynamoBackend> {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|url| !url.is_empty()),
        "AWS_ENDPOINT_URL is not set: run the tests through tests/run.sh, which starts moto"
    );
    let table = format!("test-{}", uuid::Uuid::new_v4());
    let backend = DynamoBackend::from_sdk_config(crate::aws::Aws::from_env().sdk().await, &table);
    backend
        .create_table()
        .await
        .unwrap_or_else(|e| panic!("creating table {table} in moto failed: {e}"));
    std::sync::Arc::new(backend)
}

#[cfg(test)]
mod contract {
    use crate::store::contract::contract_suite;

    contract_suite!(
        contract_dynamodb,
        crate::store::dynamo::test_backend().await
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::{SystemTime, UNIX_EPOCH};

    use serde_json::json;
    use tokio::task::JoinSet;

    use super::expressions::SortRange;
    use super::*;
    use crate::store::item::{Condition, Index, Item, ItemBackend};

    /// The real time: moto never expires items itself, but DynamoDB would delete ancient ones.
    fn now() -> i64 {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        i64::try_from(secs.as_secs()).unwrap()
    }

    fn item(pk: &str, sk: &str, revision: u64) -> Item {
        let mut item = Item::new(pk, sk);
        item.attrs.insert("revision".into(), json!(revision));
        item
    }

    #[test]
    fn sort_range_reduces_prefix_and_after_to_one_condition() {
        use SortRange::*;
        assert_eq!(SortRange::new("", None), Any);
        assert_eq!(SortRange::new("A#", None), Prefix("A#"));
        assert_eq!(SortRange::new("", Some("x")), After("x"));
        assert_eq!(SortRange::new("A#", Some("A#3")), After("A#3"));
        assert_eq!(SortRange::new("A#", Some("A#")), After("A#"));
        assert_eq!(SortRange::new("A#", Some("0")), Prefix("A#"));
        assert_eq!(SortRange::new("A#", Some("A")), Prefix("A#"));
        assert_eq!(SortRange::new("A#", Some("A$")), Nothing);
        assert_eq!(SortRange::new("A#", Some("B")), Nothing);
        assert_eq!(SortRange::new("é", Some("z")), Prefix("é"));
    }

    #[tokio::test]
    async fn create_table_is_idempotent() {
        let backend = test_backend().await;
        backend.create_table().await.unwrap();
        backend.create_table().await.unwrap();
    }

    #[tokio::test]
    async fn conditional_puts() {
        let backend = test_backend().await;
        let now = now();
        let mut first = item("CLIENT#a", "CLIENT", 1);
        first.gsi1 = Some(("CLIENTS".into(), "2024#a".into()));
        first.attrs.insert(
            "metadata".into(),
            json!({"n": -3, "f": 2.5, "ok": true, "none": null, "l": [], "m": {}, "s": ""}),
        );

        assert!(backend.put(&first, Condition::Absent, now).await.unwrap());
        assert!(!backend.put(&first, Condition::Absent, now).await.unwrap());
        assert_eq!(
            backend.get("CLIENT#a", "CLIENT", now).await.unwrap(),
            Some(first.clone())
        );

        let second = item("CLIENT#a", "CLIENT", 2);
        let stale = Condition::Equals("revision", json!(0));
        let current = Condition::Equals("revision", json!(1));
        assert!(!backend.put(&second, stale, now).await.unwrap());
        assert!(backend.put(&second, current.clone(), now).await.unwrap());
        assert!(!backend.put(&second, current, now).await.unwrap());
        assert_eq!(
            backend.get("CLIENT#a", "CLIENT", now).await.unwrap(),
            Some(second)
        );

        let flag = Condition::Equals("revision", json!(1));
        let missing = item("CLIENT#b", "CLIENT", 2);
        assert!(!backend.put(&missing, flag, now).await.unwrap());
        assert!(backend.put(&missing, Condition::Always, now).await.unwrap());
        assert!(backend.put(&missing, Condition::Always, now).await.unwrap());

        let mut code = Item::new("CODE#h", "CODE");
        code.attrs.insert("redeemed".into(), json!(false));
        assert!(backend.put(&code, Condition::Absent, now).await.unwrap());
        code.attrs.insert("redeemed".into(), json!(true));
        let unredeemed = Condition::Equals("redeemed", json!(false));
        assert!(backend.put(&code, unredeemed.clone(), now).await.unwrap());
        assert!(!backend.put(&code, unredeemed, now).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn take_and_absent_have_one_winner() {
        let backend = test_backend().await;
        let now = now();
        let pending = item("AUTHREQ#1", "AUTHREQ", 1);
        assert!(backend.put(&pending, Condition::Absent, now).await.unwrap());
        assert_eq!(
            backend.take("AUTHREQ#1", "AUTHREQ", now).await.unwrap(),
            Some(pending.clone())
        );
        assert_eq!(
            backend.take("AUTHREQ#1", "AUTHREQ", now).await.unwrap(),
            None
        );
        assert!(!backend.delete("AUTHREQ#1", "AUTHREQ", now).await.unwrap());

        for round in 0..5 {
            let pk = format!("AUTHREQ#race{round}");
            assert!(
                backend
                    .put(&item(&pk, "AUTHREQ", 1), Condition::Absent, now)
                    .await
                    .unwrap()
            );
            let mut takers = JoinSet::new();
            for _ in 0..10 {
                let (backend, pk) = (backend.clone(), pk.clone());
                takers.spawn(async move { backend.take(&pk, "AUTHREQ", now).await.unwrap() });
            }
            let winners = takers.join_all().await.into_iter().flatten().count();
            assert_eq!(winners, 1, "take round {round}");

            let mut creators = JoinSet::new();
            for writer in 0..10 {
                let (backend, pk) = (backend.clone(), format!("CODE#race{round}"));
                creators.spawn(async move {
                    let code = item(&pk, "CODE", writer);
                    backend.put(&code, Condition::Absent, now).await.unwrap()
                });
            }
            let winners = creators.join_all().await.into_iter().filter(|w| *w).count();
            assert_eq!(winners, 1, "put Absent round {round}");

            let pk = format!("CODE#race{round}");
            let current = backend.get(&pk, "CODE", now).await.unwrap().unwrap();
            let revision = current.attrs["revision"].as_u64().unwrap();
            let mut updaters = JoinSet::new();
            for writer in 0..10 {
                let (backend, pk) = (backend.clone(), pk.clone());
                updaters.spawn(async move {
                    let next = item(&pk, "CODE", 100 + writer);
                    let guard = Condition::Equals("revision", json!(revision));
                    backend.put(&next, guard, now).await.unwrap()
                });
            }
            let winners = updaters.join_all().await.into_iter().filter(|w| *w).count();
            assert_eq!(winners, 1, "put Equals round {round}");
        }
    }

    #[tokio::test]
    async fn expired_items_are_absent() {
        let backend = test_backend().await;
        let now = now();
        let mut old = item("AUTHREQ#old", "AUTHREQ", 1);
        old.expires_at = Some(now);
        assert!(backend.put(&old, Condition::Always, now - 1).await.unwrap());
        assert!(
            backend
                .get("AUTHREQ#old", "AUTHREQ", now - 1)
                .await
                .unwrap()
                .is_some()
        );

        assert_eq!(
            backend.get("AUTHREQ#old", "AUTHREQ", now).await.unwrap(),
            None
        );
        assert_eq!(
            backend.take("AUTHREQ#old", "AUTHREQ", now).await.unwrap(),
            None
        );
        let guard = Condition::Equals("revision", json!(1));
        assert!(!backend.put(&old, guard, now).await.unwrap());

        let mut fresh = item("AUTHREQ#old", "AUTHREQ", 2);
        fresh.expires_at = Some(now + 60);
        assert!(backend.put(&fresh, Condition::Absent, now).await.unwrap());
        assert!(!backend.put(&fresh, Condition::Absent, now).await.unwrap());
        assert_eq!(
            backend.get("AUTHREQ#old", "AUTHREQ", now).await.unwrap(),
            Some(fresh)
        );
    }

    #[tokio::test]
    async fn query_pages_by_prefix_and_cursor() {
        let backend = test_backend().await;
        let now = now();
        let sort_keys = [
            "0", "A", "A#01", "A#02", "A#03", "A#04", "A#05", "A#06", "A#07", "B",
        ];
        for (n, sk) in sort_keys.into_iter().enumerate() {
            let mut it = item("USER#u", sk, 1);
            it.gsi1 = Some(("USER#u".into(), format!("G{sk}")));
            if n % 3 == 0 {
                it.expires_at = Some(now + 600);
            }
            if sk == "A#03" || sk == "A#06" {
                it.expires_at = Some(now - 1);
            }
            assert!(backend.put(&it, Condition::Always, now).await.unwrap());
        }
        assert!(
            backend
                .put(&item("USER#v", "A#00", 1), Condition::Always, now)
                .await
                .unwrap()
        );
        let sks = |items: Vec<Item>| items.into_iter().map(|it| it.sk).collect::<Vec<_>>();
        let primary = |prefix: &'static str, after: Option<&'static str>, limit| {
            let backend = backend.clone();
            async move {
                let items = backend
                    .query(Index::Primary, "USER#u", prefix, after, limit, now)
                    .await
                    .unwrap();
                sks(items)
            }
        };

        assert_eq!(primary("A#", None, 3).await, ["A#01", "A#02", "A#04"]);
        assert_eq!(primary("A#", Some("A#04"), 3).await, ["A#05", "A#07"]);
        assert_eq!(primary("A#", Some("A#02"), 2).await, ["A#04", "A#05"]);
        assert_eq!(primary("A#", Some("A#07"), 3).await, Vec::<String>::new());
        assert_eq!(primary("A#", Some("0"), 1).await, ["A#01"]);
        assert_eq!(primary("A#", Some("B"), 5).await, Vec::<String>::new());
        assert_eq!(primary("", Some("A#05"), 10).await, ["A#07", "B"]);
        assert_eq!(primary("", None, 100).await.len(), 8);
        assert_eq!(primary("", None, 0).await, Vec::<String>::new());

        let all = backend
            .query(Index::Gsi1, "USER#u", "GA#", Some("GA#01"), 4, now)
            .await
            .unwrap();
        assert_eq!(sks(all), ["A#02", "A#04", "A#05", "A#07"]);
        let none = backend
            .query(Index::Gsi1, "USER#v", "", None, 4, now)
            .await
            .unwrap();
        assert!(none.is_empty(), "items without GSI1 keys are not listed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_increments_all_count() {
        let backend = test_backend().await;
        let now = now();
        let mut hits = JoinSet::new();
        for _ in 0..20 {
            let backend = backend.clone();
            hits.spawn(async move {
                backend
                    .increment("RATE#k#0", "RATE", now + 60, now)
                    .await
                    .unwrap()
            });
        }
        let counts: HashSet<u64> = hits.join_all().await.into_iter().collect();
        assert_eq!(counts, (1..=20).collect());
        let counter = backend.get("RATE#k#0", "RATE", now).await.unwrap().unwrap();
        assert_eq!(counter.attrs.get("count"), Some(&json!(20)));
        assert_eq!(counter.expires_at, Some(now + 60));
        assert_eq!(
            backend
                .increment("RATE#k#0", "RATE", now + 999, now)
                .await
                .unwrap(),
            21
        );
        let counter = backend.get("RATE#k#0", "RATE", now).await.unwrap().unwrap();
        assert_eq!(counter.expires_at, Some(now + 60), "the first expiry stays");
    }
}
