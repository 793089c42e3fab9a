//! `seed`, `redeem` and `mint`: authorization codes written straight into the store, their
//! exchange at `POST /token`, and an access token for the MCP endpoint.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::clock::{Clock, SystemClock};
use shared::config::StoreConfig;
use shared::oauth::client_id::ClientId;
use shared::oauth::client_metadata::ClientMetadata;
use shared::oauth::client_values::{AuthMethod, GrantType};
use shared::oauth::pkce::{CodeChallenge, CodeVerifier};
use shared::oauth::redirect_uri::RedirectUri;
use shared::oauth::resource::ResourceUri;
use shared::oauth::scope::Scope;
use shared::secret::{Secret, random_id};
use shared::store::{ClientKind, ClientRecord, ClientStatus, CodeRecord};
use shared::token::{LocalSigner, TokenIssuer};

const REDIRECT_URI: &str = "http://127.0.0.1/bench-callback";
const SCOPE: &str = "costs:read";

pub(crate) async fn seed(
    data_dir: &Path,
    resource: &str,
    codes: usize,
    out: &Path,
) -> Result<Value, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let stores = shared::store::connect(
        &StoreConfig::Sqlite {
            path: data_dir.join("state.db"),
        },
        clock,
        &shared::aws::Aws::from_env(),
    )
    .await
    .map_err(|e| format!("store: {e}"))?;
    let client_id = ClientId::from_stored(format!("bench-{}", random_id()));
    let client = ClientRecord {
        client_id: client_id.clone(),
        kind: ClientKind::Static,
        status: ClientStatus::Active,
        metadata: ClientMetadata {
            redirect_uris: vec![RedirectUri::from_stored(REDIRECT_URI)],
            token_endpoint_auth_method: AuthMethod::None,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            response_types: vec!["code".to_owned()],
            client_name: Some("bench".to_owned()),
            ..ClientMetadata::default()
        },
        secret_hash: None,
        registration_token_hash: None,
        resources: Vec::new(),
        created_at: now,
        created_ip: None,
        created_user_agent: None,
        last_used_at: None,
        revision: 0,
        expires_at: None,
    };
    if !stores
        .clients
        .create(&client)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("client id taken".into());
    }
    let verifier = CodeVerifier::generate();
    let challenge = CodeChallenge::for_verifier(&verifier);
    let mut secrets = Vec::with_capacity(codes);
    for _ in 0..codes {
        let code = Secret::generate();
        let record = CodeRecord {
            code_hash: code.hash(),
            client_id: client_id.clone(),
            redirect_uri: RedirectUri::from_stored(REDIRECT_URI),
            code_challenge: challenge.as_str().to_owned(),
            scope: Scope::from_stored(SCOPE),
            resource: ResourceUri::from_stored(resource),
            sub: "bench-user".to_owned(),
            groups: Vec::new(),
            issued_at: now,
            // Longer than a real code (60 s) so the whole run can redeem them.
            valid_until: now + 600,
            upstream_session: None,
        };
        if !stores.codes.put(&record).await.map_err(|e| e.to_string())? {
            return Err("code collision".into());
        }
        secrets.push(code.expose().to_owned());
    }
    let file = json!({
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier.expose(),
        "resource": resource,
        "codes": secrets,
    });
    std::fs::write(out, file.to_string()).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(json!({ "client_id": client_id, "codes": codes }))
}

pub(crate) async fn redeem(
    url: &str,
    codes_file: &Path,
    concurrency: usize,
    seconds: f64,
) -> Result<Value, String> {
    let text = std::fs::read_to_string(codes_file).map_err(|e| e.to_string())?;
    let seeded: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        seeded
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("{name} missing"))
    };
    let client_id = field("client_id")?;
    let redirect_uri = field("redirect_uri")?;
    let verifier = field("code_verifier")?;
    let resource = field("resource")?;
    let codes: Arc<Vec<String>> = Arc::new(
        seeded
            .get("codes")
            .and_then(Value::as_array)
            .ok_or("codes missing")?
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect(),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|e| e.to_string())?;
    let endpoint = format!("{}/token", url.trim_end_matches('/'));
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let deadline = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (client, endpoint, codes, next, ok, failed) = (
            client.clone(),
            endpoint.clone(),
            codes.clone(),
            next.clone(),
            ok.clone(),
            failed.clone(),
        );
        let (client_id, redirect_uri, verifier, resource) = (
            client_id.clone(),
            redirect_uri.clone(),
            verifier.clone(),
            resource.clone(),
        );
        workers.push(tokio::spawn(async move {
            while started.elapsed() < deadline {
                let Some(code) = codes.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect_uri.as_str()),
                    ("code_verifier", verifier.as_str()),
                    ("client_id", client_id.as_str()),
                    ("resource", resource.as_str()),
                ];
                let answer = client.post(&endpoint).form(&form).send().await;
                match answer {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => {
                        if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            let status = r.status();
                            let body = r.text().await.unwrap_or_default();
                            eprintln!("bench-driver: /token answered {status}: {body}");
                        }
                    }
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("bench-driver: /token: {e}");
                        }
                    }
                }
            }
        }));
    }
    for worker in workers {
        worker.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    Ok(json!({
        "ok": ok,
        "failed": failed,
        "concurrency": concurrency,
        "seconds": elapsed,
        "per_sec": ok as f64 / elapsed,
    }))
}

pub(crate) async fn mint(data_dir: &Path, issuer: &str, resource: &str) -> Result<Value, String> {
    let signer = LocalSigner::load_or_create(data_dir).map_err(|e| e.to_string())?;
    let issuer = TokenIssuer::new(Arc::new(signer), issuer, resource, 3600);
    let (token, _) = issuer
        .mint("bench-user", "bench-client", SCOPE, &[], SystemClock.now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({ "access_token": token.expose() }))
}
