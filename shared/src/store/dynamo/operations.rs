//! The DynamoDB adapter's [`ItemBackend`] operations, each guarantee of the trait carried by a
//! condition expression, and the retry of a transaction cancelled by a conflict.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, TransactWriteItem,
};

use super::convert::{
    EXPIRES_AT, GSI1PK, GSI1SK, PK, SK, attributes_to_item, integer, item_to_attributes, string,
};
use super::expressions::{ConditionParts, LIVE, SortRange, key};
use super::{DynamoBackend, GSI1, sdk_failure};
use crate::store::StoreError;
use crate::store::item::{Condition, Index, Item, ItemBackend, MAX_ATOMIC_WRITES, MAX_BATCH_READS};

/// Requests one [`ItemBackend::get_many`] may make while DynamoDB leaves keys unprocessed.
const BATCH_READ_ATTEMPTS: usize = 3;

/// How many times [`ItemBackend::put_all`] sends a transaction that DynamoDB cancels for a
/// conflict with another transaction in flight.
pub(super) const CONFLICT_ATTEMPTS: u32 = 5;

/// The pause before retry `attempt` of a conflicting transaction: 25 ms doubling (a DynamoDB
/// transaction normally completes within tens of milliseconds), up to half of it random so
/// that two transactions that cancelled each other do not meet again.
pub(super) fn conflict_pause(attempt: u32) -> Duration {
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
