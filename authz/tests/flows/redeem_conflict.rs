//! Concurrent redemption of one code on DynamoDB when the loser's transaction meets the
//! winner's still in flight (`TransactionConflict`, which moto never produces): a proxy in front
//! of moto holds the winner's `TransactWriteItems`, answers the loser's with the cancellation
//! DynamoDB documents, then lets the winner commit. The loser gets `invalid_grant` and the
//! winner's grant is revoked, as for any replay; never a 503, never a grant left standing.

use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_sdk_cognitoidentityprovider::config::{Credentials, Region};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use shared::store::dynamo::DynamoBackend;
use tokio::sync::{Notify, oneshot};

use crate::support::*;

#[derive(Default)]
struct Script {
    armed: bool,
    seen: usize,
    release: Option<oneshot::Sender<()>>,
    winner_done: Option<Arc<Notify>>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    script: Arc<Mutex<Script>>,
    winner_held: Arc<Notify>,
}

const CONFLICT: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None, TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#;

impl Proxy {
    async fn forward(
        &self,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Response {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.upstream, uri))
            .body(body);
        for (name, value) in headers {
            if name != "host" && name != "content-length" {
                request = request.header(name.as_str(), value.as_bytes());
            }
        }
        let answer = request.send().await.unwrap();
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        let mut response_headers = HeaderMap::new();
        for (name, value) in answer.headers() {
            if name != "content-length" && name != "transfer-encoding" {
                response_headers.insert(
                    axum::http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
                    axum::http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                );
            }
        }
        let bytes = answer.bytes().await.unwrap();
        (status, response_headers, bytes).into_response()
    }

    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let transaction = headers
            .get("x-amz-target")
            .is_some_and(|t| t.as_bytes().ends_with(b".TransactWriteItems"));
        let step = {
            let mut script = self.script.lock().unwrap();
            if transaction && script.armed {
                script.seen += 1;
                Some(script.seen)
            } else {
                None
            }
        };
        match step {
            // The winner's transaction: in flight until released.
            Some(1) => {
                let (release, released) = oneshot::channel();
                let done = Arc::new(Notify::new());
                {
                    let mut script = self.script.lock().unwrap();
                    script.release = Some(release);
                    script.winner_done = Some(done.clone());
                }
                self.winner_held.notify_one();
                released.await.ok();
                let response = self.forward(method, &uri, &headers, body).await;
                done.notify_one();
                response
            }
            // The loser's first attempt meets it.
            Some(2) => (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/x-amz-json-1.0")],
                CONFLICT,
            )
                .into_response(),
            // Any later transaction: the winner has committed by then.
            Some(_) => {
                self.release_winner().await;
                self.forward(method, &uri, &headers, body).await
            }
            None => self.forward(method, &uri, &headers, body).await,
        }
    }

    /// Lets the held winner commit and waits until it has.
    async fn release_winner(&self) {
        let (release, done) = {
            let mut script = self.script.lock().unwrap();
            (script.release.take(), script.winner_done.clone())
        };
        if let (Some(release), Some(done)) = (release, done) {
            let committed = done.notified();
            release.send(()).ok();
            committed.await;
        }
    }
}

async fn start_proxy() -> (Proxy, String) {
    let upstream = std::env::var("AWS_ENDPOINT_URL").expect("moto: source /tmp/testenv.sh");
    let proxy = Proxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
        script: Arc::default(),
        winner_held: Arc::new(Notify::new()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = proxy.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let proxy = served.clone();
            async move { proxy.handle(method, uri, headers, body).await }
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (proxy, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redemption_meeting_the_winners_transaction_in_flight_is_a_replay() {
    let (proxy, endpoint) = start_proxy().await;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "conflict"))
        .endpoint_url(&endpoint)
        .load()
        .await;
    let table = format!("conflict-{}", shared::secret::random_id());
    let backend = DynamoBackend::from_sdk_config(&sdk, &table);
    backend.create_table().await.unwrap();
    let stand = Arc::new(Stand::with_backend(Arc::new(backend)).await);
    let code = stand.code_for(PUBLIC).await;
    let form = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    let redeem = |stand: Arc<Stand>, form: Vec<(&'static str, String)>| async move {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        stand.token(&public(), &form).await
    };

    proxy.script.lock().unwrap().armed = true;
    let held = proxy.winner_held.notified();
    let winner = tokio::spawn(redeem(stand.clone(), form(&code)));
    held.await;
    let loser = redeem(stand.clone(), form(&code)).await;
    proxy.release_winner().await;
    let winner = winner.await.unwrap();
    proxy.script.lock().unwrap().armed = false;

    assert_eq!(winner.status, StatusCode::OK, "{}", winner.body);
    assert_eq!(loser.status, StatusCode::BAD_REQUEST, "{}", loser.body);
    assert_eq!(loser.error(), "invalid_grant");
    // The replay revoked the grant the winner's redemption created.
    let tokens = winner.json();
    let refresh = stand
        .refresh(&public(), tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status, StatusCode::BAD_REQUEST, "{}", refresh.body);
    assert_eq!(refresh.error(), "invalid_grant");
}
