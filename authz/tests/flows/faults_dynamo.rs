//! The DynamoDB store failing for real, mid-flow: the test runs its own moto server and either
//! kills it (connections refused) or stops it with SIGSTOP (connections accepted, never
//! answered: only the store's request timeouts end the wait). Either way the OAuth endpoints
//! answer 503 `temporarily_unavailable` within a bounded time, nothing half-written is left, and
//! the same app serves again once the store is back.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_sdk_cognitoidentityprovider::config::{Credentials, Region};
use axum::http::StatusCode;
use shared::secret::Secret;
use shared::store::dynamo::{DynamoBackend, OPERATION_TIMEOUT};

use crate::faults::{assert_unavailable, exchange, registration, user_grants};
use crate::support::*;

/// The Python that has moto: `SMCP_TEST_MOTO_PYTHON` (tests/run.sh exports it), else the venv
/// tests/run.sh creates. A missing one fails the test: it is never skipped.
fn moto_python() -> PathBuf {
    let python = std::env::var_os("SMCP_TEST_MOTO_PYTHON")
        .filter(|p| !p.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/.work/venv/bin/python"),
            PathBuf::from,
        );
    assert!(
        python.is_file(),
        "no Python with moto at {}: run the tests through tests/run.sh (it creates the venv and \
         exports SMCP_TEST_MOTO_PYTHON)",
        python.display()
    );
    python
}

/// A moto server of this test's own, killed when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// Starts moto on `port` (a free one when `None`) and waits until it answers.
    async fn start(port: Option<u16>) -> Self {
        let port = port.unwrap_or_else(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        });
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/moto_server.py");
        let child = Command::new(moto_python())
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Self { child, port };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = http
                .get(format!("{}/moto-api/", moto.endpoint()))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                return moto;
            }
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Kills moto and waits until it is gone: its port refuses connections from here on.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The production DynamoDB adapter (its own timeouts included) on a fresh table at `endpoint`.
async fn dynamo_at(endpoint: &str) -> Arc<DynamoBackend> {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "faults"))
        .endpoint_url(endpoint)
        .load()
        .await;
    let backend = DynamoBackend::from_sdk_config(&sdk, "faults");
    backend.create_table().await.unwrap();
    Arc::new(backend)
}

/// A store outage must answer within the store's operation timeout (plus scheduling slack),
/// never hang.
fn bound() -> Duration {
    OPERATION_TIMEOUT + Duration::from_secs(3)
}

#[tokio::test]
async fn dynamodb_killed_mid_flow_answers_503_and_a_restarted_store_serves_new_flows() {
    let mut moto = Moto::start(None).await;
    let backend = dynamo_at(&moto.endpoint()).await;
    let stand = Stand::with_backend(backend.clone()).await;
    let first = stand.tokens_for(&public()).await;
    let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();
    let code = stand.code_for(PUBLIC).await;

    moto.kill();
    let started = Instant::now();
    let (client, form) = (public(), exchange(&code));
    let (exchanged, refreshed, registered) = tokio::join!(
        stand.token(&client, &form),
        stand.refresh(&client, &refresh_token),
        stand.send(registration()),
    );
    let took = started.elapsed();
    assert_unavailable(&exchanged, "code exchange");
    assert_unavailable(&refreshed, "refresh");
    assert_unavailable(&registered, "registration");
    assert!(took < bound(), "refused connections answered in {took:?}");
    let page = stand
        .get(
            &stand.authorize_url(PUBLIC, REDIRECT, &[("state", "s")]),
            "",
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(
        page.header("location").is_none(),
        "no redirect without the client"
    );

    // moto keeps everything in memory: the restarted server is empty (DynamoDB itself would
    // still hold the table). The same app, never restarted, serves new flows on it.
    let moto = Moto::start(Some(moto.port)).await;
    backend.create_table().await.unwrap();
    stand
        .add_client(PUBLIC, "none", &[REDIRECT, LOOPBACK_REDIRECT], None)
        .await;
    authz::upstream::local::add_user(
        &stand.stores,
        USER,
        &Secret::new(PASSWORD),
        vec!["finance".into()],
        T0,
    )
    .await
    .unwrap();
    let again = stand.tokens_for(&public()).await;
    let refreshed = stand
        .refresh(&public(), again["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let registered = stand.send(registration()).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    drop(moto);
}

#[tokio::test]
async fn dynamodb_stopped_mid_flow_times_out_to_503_and_the_flow_completes_after() {
    let moto = Moto::start(None).await;
    let stand = Stand::with_backend(dynamo_at(&moto.endpoint()).await).await;
    let first = stand.tokens_for(&public()).await;
    let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();
    let code = stand.code_for(PUBLIC).await;
    assert_eq!(user_grants(&stand).await, 1);

    // SIGSTOP: the kernel still accepts connections for moto, which never answers them.
    moto.signal("STOP");
    let started = Instant::now();
    let (client, form) = (public(), exchange(&code));
    let (exchanged, refreshed, registered) = tokio::join!(
        stand.token(&client, &form),
        stand.refresh(&client, &refresh_token),
        stand.send(registration()),
    );
    let took = started.elapsed();
    moto.signal("CONT");
    assert_unavailable(&exchanged, "code exchange");
    assert_unavailable(&refreshed, "refresh");
    assert_unavailable(&registered, "registration");
    assert!(
        took < bound(),
        "a silent store must time out within {:?}; took {took:?}",
        bound()
    );

    // Nothing half-written: no grant from the refused exchange, and the code and the refresh
    // token were neither consumed nor rotated, so the interrupted flow completes now.
    assert_eq!(
        user_grants(&stand).await,
        1,
        "no grant written during the stall"
    );
    let tokens = stand.token(&public(), &exchange(&code)).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let replay = stand.token(&public(), &exchange(&code)).await;
    assert_eq!(replay.error(), "invalid_grant", "the code works only once");
    let refreshed = stand.refresh(&public(), &refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let registered = stand.send(registration()).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
}
