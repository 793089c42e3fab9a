//! How [`DynamoBackend::put_all`] reads a cancelled transaction. moto never reports a
//! `TransactionConflict`, so DynamoDB's answers are replayed, shaped as the DynamoDB API
//! reference documents `TransactionCanceledException` (one cancellation reason per item).

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

use super::operations::{CONFLICT_ATTEMPTS, conflict_pause};
use super::*;
use crate::store::item::{Condition, Item, ItemBackend};

const NOW: i64 = 1_800_000_000;

fn request() -> http::Request<SdkBody> {
    http::Request::builder()
        .method("POST")
        .uri("https://dynamodb.us-east-1.amazonaws.com/")
        .header("x-amz-target", "DynamoDB_20120810.TransactWriteItems")
        .body(SdkBody::empty())
        .unwrap()
}

fn response(status: u16, body: &Value) -> http::Response<SdkBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(SdkBody::from(body.to_string()))
        .unwrap()
}

/// A `TransactionCanceledException` with these per-item reason codes.
fn cancelled(codes: &[&str]) -> http::Response<SdkBody> {
    let reasons: Vec<Value> = codes
        .iter()
        .map(|code| match *code {
            "None" => json!({"Code": "None"}),
            "TransactionConflict" => json!({
                "Code": "TransactionConflict",
                "Message": "Transaction is ongoing for the item"
            }),
            "ConditionalCheckFailed" => json!({
                "Code": "ConditionalCheckFailed",
                "Message": "The conditional request failed"
            }),
            other => json!({"Code": other, "Message": "Throughput exceeds the current capacity"}),
        })
        .collect();
    response(
        400,
        &json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": format!(
                "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                codes.join(", ")
            ),
            "CancellationReasons": reasons,
        }),
    )
}

fn committed() -> http::Response<SdkBody> {
    response(200, &json!({}))
}

fn replaying(answers: Vec<http::Response<SdkBody>>) -> (DynamoBackend, StaticReplayClient) {
    let replay = StaticReplayClient::new(
        answers
            .into_iter()
            .map(|answer| ReplayEvent::new(request(), answer))
            .collect(),
    );
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .http_client(replay.clone())
        .build();
    (DynamoBackend::new(Client::from_conf(config), "t"), replay)
}

/// The writes of a code redemption: the code (guarded), then the grant (absent).
fn redemption() -> Vec<(Item, Condition)> {
    let mut code = Item::new("CODE#h", "CODE");
    code.attrs.insert("redeemed".into(), json!(true));
    vec![
        (code, Condition::Equals("redeemed", json!(false))),
        (Item::new("GRANT#g", "GRANT"), Condition::Absent),
    ]
}

#[tokio::test]
async fn a_conflict_with_a_transaction_that_then_commits_is_a_lost_race() {
    // The winner's redemption was in flight; once it committed, the code's condition fails.
    let (backend, replay) = replaying(vec![
        cancelled(&["TransactionConflict", "TransactionConflict"]),
        cancelled(&["ConditionalCheckFailed", "None"]),
    ]);
    assert!(!backend.put_all(&redemption(), NOW).await.unwrap());
    assert_eq!(replay.actual_requests().count(), 2, "retried once");
}

#[tokio::test]
async fn a_conflict_with_a_transaction_that_was_cancelled_too_may_still_win() {
    let (backend, replay) = replaying(vec![
        cancelled(&["None", "TransactionConflict"]),
        committed(),
    ]);
    assert!(backend.put_all(&redemption(), NOW).await.unwrap());
    assert_eq!(replay.actual_requests().count(), 2);
}

#[tokio::test]
async fn a_conflict_that_persists_is_a_lost_race_not_an_outage() {
    let answers = (0..CONFLICT_ATTEMPTS)
        .map(|_| cancelled(&["None", "TransactionConflict"]))
        .collect();
    let (backend, replay) = replaying(answers);
    assert!(!backend.put_all(&redemption(), NOW).await.unwrap());
    assert_eq!(
        replay.actual_requests().count(),
        CONFLICT_ATTEMPTS as usize,
        "bounded retries"
    );
}

#[tokio::test]
async fn a_failed_condition_is_false_at_once_and_other_cancellations_are_unavailable() {
    let (backend, replay) = replaying(vec![cancelled(&[
        "ConditionalCheckFailed",
        "TransactionConflict",
    ])]);
    assert!(!backend.put_all(&redemption(), NOW).await.unwrap());
    assert_eq!(replay.actual_requests().count(), 1);

    let (backend, replay) = replaying(vec![cancelled(&["None", "ThrottlingError"])]);
    assert!(matches!(
        backend.put_all(&redemption(), NOW).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(replay.actual_requests().count(), 1);
}

#[test]
fn conflict_pauses_grow_and_stay_bounded() {
    for attempt in 1..CONFLICT_ATTEMPTS {
        let base = 25u64 << (attempt - 1);
        let pause = conflict_pause(attempt).as_millis();
        assert!(
            (u128::from(base / 2)..=u128::from(base)).contains(&pause),
            "{attempt}: {pause}"
        );
    }
}
