//! The load driver of `bench/run.sh`. Every subcommand prints one JSON object on stdout.
//!
//! - `coldstart`: start a binary N times, each on a fresh port (and a fresh copy of a data dir),
//!   and time process start to the first `200` answer; with `--via`, the binary is a Lambda
//!   function polling an emulator's Runtime API and one request through the emulator is timed.
//! - `seed`: write a public client and N authorization codes (known PKCE verifier) straight into
//!   `serve`'s SQLite store, for `redeem`.
//! - `redeem`: exchange those codes at `POST /token` with bounded concurrency.
//! - `mint`: an access token for the MCP endpoint, signed with the data dir's key.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use shared::clock::{Clock, SystemClock};
use shared::config::StoreConfig;
use shared::oauth::client_metadata::ClientMetadata;
use shared::oauth::pkce::{CodeChallenge, CodeVerifier};
use shared::secret::{Secret, random_id};
use shared::store::{ClientKind, ClientRecord, ClientStatus, CodeRecord};
use shared::token::{LocalSigner, TokenIssuer};

const REDIRECT_URI: &str = "http://127.0.0.1/bench-callback";
const SCOPE: &str = "costs:read";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Time process start to first `200` on `path`, `runs` times. In `command`, `{addr}` becomes
    /// a free loopback address and `{data}` a fresh copy of `--template`.
    Coldstart {
        #[arg(long, default_value_t = 15)]
        runs: usize,
        #[arg(long, default_value = "/")]
        path: String,
        #[arg(long)]
        template: Option<PathBuf>,
        /// A Lambda emulator's invoke address (`cargo lambda watch --only-lambda-apis`): send one
        /// request there right after the start and time its `200` (the emulator holds it until
        /// the function has started and asked for work), instead of polling `{addr}`.
        #[arg(long)]
        via: Option<SocketAddr>,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Store a public client and `codes` authorization codes in `<data-dir>/state.db`.
    Seed {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        resource: String,
        #[arg(long)]
        codes: usize,
        /// Where the codes (secrets, for the benchmark only) are written.
        #[arg(long)]
        out: PathBuf,
    },
    /// Redeem seeded codes at `<url>/token` until they run out or `seconds` pass.
    Redeem {
        #[arg(long)]
        url: String,
        #[arg(long)]
        codes_file: PathBuf,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// A one-hour access token for `resource`, signed with the data dir's key.
    Mint {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        resource: String,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Cmd::Coldstart {
            runs,
            path,
            template,
            via,
            command,
        } => coldstart(runs, &path, template.as_deref(), via, &command),
        Cmd::Seed {
            data_dir,
            resource,
            codes,
            out,
        } => block_on(seed(&data_dir, &resource, codes, &out)),
        Cmd::Redeem {
            url,
            codes_file,
            concurrency,
            seconds,
        } => block_on(redeem(&url, &codes_file, concurrency, seconds)),
        Cmd::Mint {
            data_dir,
            issuer,
            resource,
        } => block_on(mint(&data_dir, &issuer, &resource)),
    };
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-driver: {e}");
            ExitCode::FAILURE
        }
    }
}

fn block_on<F: std::future::Future<Output = Result<Value, String>>>(
    future: F,
) -> Result<Value, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?
        .block_on(future)
}

fn free_addr() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    shared::store::create_private_dir(to).map_err(|e| e.to_string())?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| format!("copy: {e}"))?;
        }
    }
    Ok(())
}

/// One HTTP/1.1 GET; `true` on a `200`.
fn answers_200(addr: SocketAddr, path: &str) -> bool {
    answers_200_within(addr, path, Duration::from_secs(2))
}

fn answers_200_within(addr: SocketAddr, path: &str, wait: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(wait));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn coldstart(
    runs: usize,
    path: &str,
    template: Option<&Path>,
    via: Option<SocketAddr>,
    command: &[String],
) -> Result<Value, String> {
    let (program, args) = command.split_first().ok_or("no command")?;
    let scratch = std::env::temp_dir().join(format!("bench-coldstart-{}", random_id()));
    let mut samples = Vec::with_capacity(runs);
    for run in 0..runs {
        let addr = free_addr()?;
        let data = scratch.join(run.to_string());
        if let Some(template) = template {
            copy_dir(template, &data)?;
        }
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                a.replace("{addr}", &addr.to_string())
                    .replace("{data}", &data.display().to_string())
            })
            .collect();
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{program}: {e}"))?;
        let up = if let Some(emulator) = via {
            answers_200_within(emulator, path, Duration::from_secs(10)).then(|| started.elapsed())
        } else {
            loop {
                if answers_200(addr, path) {
                    break Some(started.elapsed());
                }
                if started.elapsed() > Duration::from_secs(10)
                    || matches!(child.try_wait(), Ok(Some(_)))
                {
                    break None;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&data);
        let up = up.ok_or_else(|| format!("{program} did not answer 200 on {path} within 10 s"))?;
        samples.push(up.as_secs_f64() * 1000.0);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => return Err("no runs".into()),
        n if n % 2 == 1 => sorted.get(n / 2).copied().unwrap_or_default(),
        n => {
            let a = sorted.get(n / 2 - 1).copied().unwrap_or_default();
            let b = sorted.get(n / 2).copied().unwrap_or_default();
            (a + b) / 2.0
        }
    };
    Ok(json!({
        "runs": runs,
        "median_ms": median,
        "min_ms": sorted.first(),
        "max_ms": sorted.last(),
        "samples_ms": samples,
    }))
}

async fn seed(data_dir: &Path, resource: &str, codes: usize, out: &Path) -> Result<Value, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let stores = shared::store::connect(
        &StoreConfig::Sqlite {
            path: data_dir.join("state.db"),
        },
        clock,
    )
    .await
    .map_err(|e| format!("store: {e}"))?;
    let client_id = format!("bench-{}", random_id());
    let client = ClientRecord {
        client_id: client_id.clone(),
        kind: ClientKind::Static,
        status: ClientStatus::Active,
        metadata: ClientMetadata {
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            token_endpoint_auth_method: shared::oauth::client_values::AuthMethod::None,
            grant_types: vec![
                shared::oauth::client_values::GrantType::AuthorizationCode,
                shared::oauth::client_values::GrantType::RefreshToken,
            ],
            response_types: vec!["code".to_owned()],
            client_name: Some("bench".to_owned()),
            ..ClientMetadata::default()
        },
        secret_hash: None,
        registration_token_hash: None,
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
            redirect_uri: REDIRECT_URI.to_owned(),
            code_challenge: challenge.as_str().to_owned(),
            scope: SCOPE.to_owned(),
            resource: resource.to_owned(),
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

async fn redeem(
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

async fn mint(data_dir: &Path, issuer: &str, resource: &str) -> Result<Value, String> {
    let signer = LocalSigner::load_or_create(data_dir).map_err(|e| e.to_string())?;
    let issuer = TokenIssuer::new(Arc::new(signer), issuer, resource, 3600);
    let (token, _) = issuer
        .mint("bench-user", "bench-client", SCOPE, &[], SystemClock.now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({ "access_token": token.expose() }))
}
