//! The DynamoDB adapter: [`ItemBackend`] over the single table (docs/architecture.md, "Storage"),
//! with every guarantee of the trait carried by a DynamoDB condition expression, so it holds across
//! processes and Lambda instances.

mod convert;
mod table;
#[cfg(test)]
mod transaction_tests;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, TransactWriteItem,
};

use self::convert::{
    EXPIRES_AT, GSI1PK, GSI1SK, PK, SK, attributes_to_item, integer, item_to_attributes, string,
    to_attribute,
};
use super::StoreError;
use super::item::{Condition, Index, Item, ItemBackend, MAX_ATOMIC_WRITES, MAX_BATCH_READS};

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

/// Requests one [`ItemBackend::get_many`] may make while DynamoDB leaves keys unprocessed.
const BATCH_READ_ATTEMPTS: usize = 3;

/// `#exp` names `expires_at`, `:now` is the caller's clock: the item is live.
const LIVE: &str = "(attribute_not_exists(#exp) OR #exp > :now)";

/// [`ItemBackend`] over one DynamoDB table.
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

    /// A backend using the SDK's default configuration chain (credentials, region and, for local
    /// runs and tests, `AWS_ENDPOINT_URL`).
    pub async fn from_env(table: &str) -> Self {
        let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self::from_sdk_config(&config, table)
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

/// How many times [`ItemBackend::put_all`] sends a transaction that DynamoDB cancels for a
/// conflict with another transaction in flight.
const CONFLICT_ATTEMPTS: u32 = 5;

/// The pause before retry `attempt` of a conflicting transaction: 25 ms doubling (a DynamoDB
/// transaction normally completes within tens of milliseconds), up to half of it random so
/// that two transactions that cancelled each other do not meet again.
fn conflict_pause(attempt: u32) -> Duration {
    let base = 25u64.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    Duration::from_millis(base / 2 + rand::random_range(0..=base / 2))
}

/// Why DynamoDB cancelled (or refused) a `TransactWriteItems`.
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// A condition did not hold: the definite answer `false`.
    ConditionFailed,
    /// Another transaction on one of the items was in flight (`TransactionConflict`), and no
    /// condition failed: nothing was decided, the same transaction may be sent again.
    Conflict,
    /// Anything else (throttling, validation, transport): the store is unavailable.
    Other,
}

/// Reads the cancellation reasons of a failed `TransactWriteItems`, one per item in order, as
/// the DynamoDB API reference documents them (`None` for an item that caused nothing).
fn transaction_outcome<R>(error: &SdkError<TransactWriteItemsError, R>) -> Cancelled {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return Cancelled::Other;
    };
    let codes: Vec<&str> = cancelled
        .cancellation_reasons()
        .iter()
        .filter_map(|reason| reason.code())
        .collect();
    if codes.contains(&"ConditionalCheckFailed") {
        Cancelled::ConditionFailed
    } else if codes.contains(&"TransactionConflict") {
        Cancelled::Conflict
    } else {
        Cancelled::Other
    }
}

/// A [`Condition`] as a DynamoDB condition expression with its names and values.
struct ConditionParts {
    expression: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
}

impl ConditionParts {
    fn new(condition: &Condition, now: i64) -> Self {
        let (expression, mut names, mut values) = match condition {
            Condition::Always => {
                return Self {
                    expression: None,
                    names: None,
                    values: None,
                };
            }
            Condition::Absent => (
                "attribute_not_exists(#pk) OR #exp <= :now".to_owned(),
                HashMap::new(),
                HashMap::new(),
            ),
            Condition::Equals(name, value) => (
                format!("attribute_exists(#pk) AND {LIVE} AND #a = :v"),
                HashMap::from([("#a".to_owned(), (*name).to_owned())]),
                HashMap::from([(":v".to_owned(), to_attribute(value))]),
            ),
        };
        names.insert("#pk".to_owned(), PK.to_owned());
        names.insert("#exp".to_owned(), EXPIRES_AT.to_owned());
        values.insert(":now".to_owned(), integer(now));
        Self {
            expression: Some(expression),
            names: Some(names),
            values: Some(values),
        }
    }
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), string(pk)), (SK.to_owned(), string(sk))])
}

/// What a query asks of the sort key, reduced to the one key condition DynamoDB allows.
#[derive(Debug, PartialEq, Eq)]
enum SortRange<'a> {
    /// The whole partition.
    Any,
    /// `begins_with(sk, prefix)`.
    Prefix(&'a str),
    /// `sk > after`, where `after` starts with the prefix: the prefixed keys past `after` are
    /// contiguous from there, so the scan ends at the first key without the prefix.
    After(&'a str),
    /// Nothing can match: `after` sorts past every key with the prefix.
    Nothing,
}

impl<'a> SortRange<'a> {
    /// DynamoDB and Rust both order strings by their UTF-8 bytes, so `str` comparison decides.
    fn new(prefix: &'a str, after: Option<&'a str>) -> Self {
        match after {
            Some(after) if after.starts_with(prefix) => Self::After(after),
            // Every key with the prefix is at least the prefix, hence past `after`.
            Some(after) if after < prefix => Self::Prefix(prefix),
            // `after` is beyond the prefix and does not start with it: past the prefix range.
            Some(_) => Self::Nothing,
            None if prefix.is_empty() => Self::Any,
            None => Self::Prefix(prefix),
        }
    }
}

#[async_trait]
impl ItemBackend for DynamoBackend {
    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("GetItem", &e))?;
        match output.item {
            Some(map) if !map.is_empty() => {
                let item = attributes_to_item(map)?;
                Ok((!item.is_expired(now)).then_some(item))
            }
            _ => Ok(None),
        }
    }

    async fn get_many(&self, keys: &[(String, String)], now: i64) -> Result<Vec<Item>, StoreError> {
        if keys.len() > MAX_BATCH_READS {
            return Err(StoreError::Unavailable(format!(
                "{} keys in one read (at most {MAX_BATCH_READS})",
                keys.len()
            )));
        }
        let mut found = Vec::with_capacity(keys.len());
        let mut pending: Vec<HashMap<String, AttributeValue>> =
            keys.iter().map(|(pk, sk)| key(pk, sk)).collect();
        // DynamoDB may leave keys unprocessed (throttling, response size): ask again for those
        // only, a bounded number of times.
        for _ in 0..BATCH_READ_ATTEMPTS {
            if pending.is_empty() {
                return Ok(found);
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|_| StoreError::Unavailable("DynamoDB keys could not be built".into()))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| sdk_failure("BatchGetItem", &e))?;
            for map in output
                .responses
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default()
            {
                let item = attributes_to_item(map)?;
                if !item.is_expired(now) {
                    found.push(item);
                }
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.table))
                .map(|unprocessed| unprocessed.keys)
                .unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::Unavailable(
                "DynamoDB BatchGetItem left keys unprocessed".into(),
            ))
        }
    }

    async fn put(&self, item: &Item, condition: Condition, now: i64) -> Result<bool, StoreError> {
        let guard = ConditionParts::new(&condition, now);
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_to_attributes(item)))
            .set_condition_expression(guard.expression)
            .set_expression_attribute_names(guard.names)
            .set_expression_attribute_values(guard.values);
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_failure("PutItem", &e)),
        }
    }

    async fn put_all(&self, writes: &[(Item, Condition)], now: i64) -> Result<bool, StoreError> {
        if writes.len() > MAX_ATOMIC_WRITES {
            return Err(StoreError::Unavailable(format!(
                "{} writes in one step (at most {MAX_ATOMIC_WRITES})",
                writes.len()
            )));
        }
        let mut request = self.client.transact_write_items();
        for (item, condition) in writes {
            let guard = ConditionParts::new(condition, now);
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item_to_attributes(item)))
                .set_condition_expression(guard.expression)
                .set_expression_attribute_names(guard.names)
                .set_expression_attribute_values(guard.values)
                .build()
                .map_err(|_| StoreError::Unavailable("DynamoDB Put could not be built".into()))?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        // A cancelled transaction wrote nothing, so trying it again is always safe. A conflict
        // (another transaction on one of the items still in flight) is retried after a short
        // pause: once the other transaction has committed, the retry sees its result (for a
        // code redemption: the code is redeemed, `ConditionalCheckFailed`, and the loser's
        // replay path then finds, and revokes, the winner's grant); if it was cancelled too,
        // the retry may win.
        for attempt in 1..=CONFLICT_ATTEMPTS {
            match request.clone().send().await {
                Ok(_) => return Ok(true),
                Err(e) => match transaction_outcome(&e) {
                    Cancelled::ConditionFailed => return Ok(false),
                    Cancelled::Conflict if attempt < CONFLICT_ATTEMPTS => {
                        tokio::time::sleep(conflict_pause(attempt)).await;
                    }
                    // Still contended after the retries: a lost race, not an outage. Nothing was
                    // written, which is what `false` promises.
                    Cancelled::Conflict => {
                        tracing::warn!("DynamoDB transaction kept conflicting");
                        return Ok(false);
                    }
                    Cancelled::Other => return Err(sdk_failure("TransactWriteItems", &e)),
                },
            }
        }
        Ok(false)
    }

    async fn take(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression(format!("attribute_exists(#pk) AND {LIVE}"))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":now", integer(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match deleted {
            Ok(output) => match output.attributes {
                Some(map) if !map.is_empty() => attributes_to_item(map).map(Some),
                // DynamoDB always returns the item its condition saw. Emulators that check the
                // condition and delete in separate steps (moto) return nothing to the loser of a
                // race: it deleted nothing, so it gets nothing.
                _ => Ok(None),
            },
            Err(e)
                if e.as_service_error()
                    .is_some_and(DeleteItemError::is_conditional_check_failed_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(sdk_failure("DeleteItem", &e)),
        }
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
        let mut items = Vec::new();
        let (index_name, pk_name, sk_name) = match index {
            Index::Primary => (None, PK, SK),
            Index::Gsi1 => (Some(GSI1), GSI1PK, GSI1SK),
        };
        let mut names = HashMap::from([
            ("#pk".to_owned(), pk_name.to_owned()),
            ("#exp".to_owned(), EXPIRES_AT.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":p".to_owned(), string(partition)),
            (":now".to_owned(), integer(now)),
        ]);
        let key_condition = match SortRange::new(prefix, after) {
            SortRange::Nothing => return Ok(items),
            SortRange::Any => "#pk = :p",
            SortRange::Prefix(prefix) => {
                values.insert(":s".into(), string(prefix));
                "#pk = :p AND begins_with(#sk, :s)"
            }
            SortRange::After(after) => {
                values.insert(":s".into(), string(after));
                "#pk = :p AND #sk > :s"
            }
        };
        if key_condition.contains("#sk") {
            names.insert("#sk".into(), sk_name.to_owned());
        }

        let mut start = None;
        while items.len() < limit {
            // DynamoDB's Limit counts items read before the expiry filter, so a page never brings
            // more than are still wanted and no page has to be cut (and its cursor rebuilt).
            let wanted = i32::try_from(limit.saturating_sub(items.len())).unwrap_or(i32::MAX);
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index_name.map(str::to_owned))
                .key_condition_expression(key_condition)
                .filter_expression(LIVE)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(true)
                .limit(wanted)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_failure("Query", &e))?;
            for map in output.items.unwrap_or_default() {
                let item = attributes_to_item(map)?;
                let sort_key = match index {
                    Index::Primary => Some(item.sk.as_str()),
                    Index::Gsi1 => item.gsi1.as_ref().map(|(_, sk)| sk.as_str()),
                };
                if !sort_key.is_some_and(|sk| sk.starts_with(prefix)) {
                    // Past the prefix range (SortRange::After): nothing further can match.
                    return Ok(items);
                }
                if !item.is_expired(now) && items.len() < limit {
                    items.push(item);
                }
            }
            start = match output.last_evaluated_key {
                Some(key) if !key.is_empty() => Some(key),
                _ => break,
            };
        }
        Ok(items)
    }

    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        expires_at: i64,
        _now: i64,
    ) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("ADD #c :one SET #exp = if_not_exists(#exp, :exp)")
            .expression_attribute_names("#c", "count")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":one", integer(1))
            .expression_attribute_values(":exp", integer(expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_failure("UpdateItem", &e))?;
        match output.attributes.and_then(|mut map| map.remove("count")) {
            Some(AttributeValue::N(text)) => text
                .parse::<u64>()
                .map_err(|_| StoreError::corrupt(pk, "count is not a non-negative integer")),
            _ => Err(StoreError::corrupt(pk, "UpdateItem returned no count")),
        }
    }
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
    let backend = DynamoBackend::from_env(&table).await;
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

    use super::*;

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
