//! `serverless-mcp admin` as an operator runs it, against SQLite (a temp data dir) and against
//! DynamoDB on moto: every subcommand, its output (tables and JSON lines), its exit codes, its
//! audit events, and revocation taking effect at the token endpoint (`invalid_grant`,
//! `invalid_client`) and at the MCP server (401) of a server running over the same store.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, keys};
use shared::secret::{Secret, random_id, sha256_hex};
use shared::store::{GrantRecord, GrantStatus, Stores};

const BIN: &str = env!("CARGO_BIN_EXE_serverless-mcp");
const OPERATOR: &str = "test-operator";
const PASSWORD: &str = "a long enough password";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Dynamo,
}

/// A data dir (and for DynamoDB a fresh table), the flags naming them, and a server over them.
struct Stand {
    data_dir: PathBuf,
    store_flags: Vec<String>,
    /// `SMCP_*` settings for the in-process server.
    settings: Vec<(&'static str, String)>,
}

impl Drop for Stand {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Stand {
    fn new(backend: Backend) -> Self {
        let data_dir = std::env::temp_dir().join(format!("admin-e2e-{}", random_id()));
        let mut store_flags = vec!["--data-dir".to_owned(), data_dir.display().to_string()];
        let mut settings = vec![(keys::DATA_DIR, data_dir.display().to_string())];
        if backend == Backend::Dynamo {
            assert!(
                std::env::var_os("AWS_ENDPOINT_URL").is_some_and(|u| !u.is_empty()),
                "AWS_ENDPOINT_URL is not set: run the tests through tests/run.sh, which starts moto"
            );
            let table = format!("admin-{}", random_id());
            store_flags.push("--store".into());
            store_flags.push(format!("dynamodb:{table}"));
            settings.push((keys::STORE, "dynamodb".into()));
            settings.push((keys::TABLE, table));
        } else {
            settings.push((keys::STORE, "sqlite".into()));
        }
        Self {
            data_dir,
            store_flags,
            settings,
        }
    }

    /// Runs `serverless-mcp admin <args>` with this stand's store flags, output as an operator
    /// sees it on a terminal (`SMCP_ADMIN_FORMAT=table`).
    async fn admin(&self, args: &[&str], stdin: Option<&str>) -> Ran {
        self.run(args, stdin, Some("table")).await
    }

    /// Runs `serverless-mcp admin <args>` with the output format left to decide (a pipe).
    async fn piped(&self, args: &[&str]) -> Ran {
        self.run(args, None, None).await
    }

    async fn run(&self, args: &[&str], stdin: Option<&str>, format: Option<&str>) -> Ran {
        let mut command = Command::new(BIN);
        match format {
            Some(format) => command.env("SMCP_ADMIN_FORMAT", format),
            None => command.env_remove("SMCP_ADMIN_FORMAT"),
        };
        command
            .arg("admin")
            .args(args)
            .args(&self.store_flags)
            .env_remove(keys::STORE)
            .env_remove(keys::TABLE)
            .env_remove(keys::DATA_DIR)
            .env("USER", OPERATOR)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let input = stdin.map(str::to_owned);
        let started = std::time::Instant::now();
        let output = tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            if let Some(input) = input {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
            }
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        let ran = Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
        eprintln!(
            "admin {args:?}: exit {} in {:?}",
            ran.code,
            started.elapsed()
        );
        ran
    }

    /// The authorization server and the MCP server over this stand's store, as `serve` runs
    /// them, on a free port.
    async fn serve(&self) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut settings = self.settings.clone();
        settings.push((keys::ISSUER, base.clone()));
        settings.push((keys::RESOURCE, format!("{base}/mcp")));
        let config = Arc::new(
            Config::from_lookup(|key| {
                settings
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
            })
            .unwrap(),
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let stores =
            shared::store::connect(&config.store, clock.clone(), &shared::aws::Aws::from_env())
                .await
                .unwrap();
        common::serve_in_process(listener, &config, &stores, clock).await;
        Server {
            base,
            resource: config.resource.clone(),
            stores,
            http: reqwest::Client::new(),
        }
    }
}

struct Server {
    base: String,
    resource: String,
    stores: Stores,
    http: reqwest::Client,
}

impl Server {
    /// Registers a public client (RFC 7591) and returns its id.
    async fn register(&self, name: &str) -> String {
        let reply = self
            .http
            .post(format!("{}/register", self.base))
            .header("user-agent", "admin-test/1.0")
            .json(&json!({
                "redirect_uris": ["http://127.0.0.1:9/cb"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "client_name": name,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
        let body: Value = reply.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// A grant of `sub` to `client_id` as a code exchange stores it; returns its id and
    /// refresh token.
    async fn grant(&self, sub: &str, client_id: &str) -> (String, String) {
        let grant_id: String = sha256_hex(random_id().as_bytes())
            .chars()
            .take(32)
            .collect();
        let token = format!("{grant_id}.{}", Secret::generate().expose());
        let now = SystemClock.now();
        let grant = GrantRecord {
            grant_id: grant_id.clone(),
            sub: sub.into(),
            client_id: shared::oauth::client_id::ClientId::from_stored(client_id),
            scope: shared::oauth::scope::Scope::from_stored("costs:read"),
            resource: shared::oauth::resource::ResourceUri::from_stored(self.resource.clone()),
            groups: vec![],
            refresh_hash: Secret::new(token.clone()).hash(),
            previous_refresh_hash: None,
            superseded_hashes: vec![],
            rotated_at: None,
            version: 0,
            status: GrantStatus::Active,
            created_at: now,
            expires_at: Some(now + 86_400),
            upstream_session: None,
        };
        assert!(self.stores.grants.create(&grant).await.unwrap());
        (grant_id, token)
    }

    /// `POST /token` with `grant_type=refresh_token`: status and body.
    async fn refresh(&self, client_id: &str, refresh_token: &str) -> (u16, Value) {
        let reply = self
            .http
            .post(format!("{}/token", self.base))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", client_id),
            ])
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap())
    }

    /// A refresh that must work: returns (access token, next refresh token).
    async fn refreshed(&self, client_id: &str, refresh_token: &str) -> (String, String) {
        let (status, body) = self.refresh(client_id, refresh_token).await;
        assert_eq!(status, 200, "{body}");
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// The MCP endpoint's status for an `initialize` with this bearer token.
    async fn mcp_status(&self, access_token: &str) -> u16 {
        self.http
            .post(&self.resource)
            .bearer_auth(access_token)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "admin-test", "version": "1"}
                }
            }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Sorted, for items created within the same second (whose listing order is by id).
fn sorted<T: AsRef<str>>(items: &[T]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| s.as_ref().to_owned()).collect();
    items.sort();
    items
}

fn ids(lines: &[Value], field: &str) -> Vec<String> {
    lines
        .iter()
        .map(|l| l[field].as_str().unwrap().to_owned())
        .collect()
}

async fn every_subcommand(backend: Backend) {
    let stand = Stand::new(backend);

    // A store that does not exist yet is reported, not created.
    if backend == Backend::Sqlite {
        let missing = stand.admin(&["clients", "list"], None).await;
        assert_eq!(missing.code, 1);
        assert!(
            missing.stderr.contains("no such file"),
            "{}",
            missing.stderr
        );
    }
    let init = stand.admin(&["init-table"], None).await.ok();
    assert!(init.stdout.contains("is ready"), "{}", init.stdout);
    stand.admin(&["init-table"], None).await.ok();

    // users add / list
    let added = stand
        .admin(
            &["users", "add", "alice", "--group", "finance"],
            Some(PASSWORD),
        )
        .await
        .ok();
    assert_eq!(added.stdout.trim(), "added user alice");
    stand
        .admin(&["users", "add", "bob", "--json"], Some(PASSWORD))
        .await
        .ok();
    let taken = stand
        .admin(&["users", "add", "alice"], Some(PASSWORD))
        .await;
    assert_eq!(taken.code, 1);
    assert!(taken.stderr.contains("already exists"), "{}", taken.stderr);
    let weak = stand.admin(&["users", "add", "carol"], Some("short")).await;
    assert_eq!(weak.code, 1);
    let users = stand.admin(&["users", "list"], None).await.ok();
    assert!(
        users.stdout.starts_with("USERNAME  STATUS"),
        "{}",
        users.stdout
    );
    assert!(users.stdout.contains("finance"));
    let users = stand.admin(&["users", "list", "--json"], None).await.ok();
    assert_eq!(ids(&users.json_lines(), "username"), ["alice", "bob"]);

    // A server over the same store; clients register through it.
    let server = stand.serve().await;
    let c1 = server.register("Client One").await;
    // Listings are ordered by registration time, to the second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let c2 = server.register("Client Two").await;
    let (g1, r1) = server.grant("alice", &c1).await;
    let (g2, r2) = server.grant("alice", &c2).await;
    let (g3, _r3) = server.grant("bob", &c1).await;
    let (a1, r1) = server.refreshed(&c1, &r1).await;
    assert_ne!(
        server.mcp_status(&a1).await,
        401,
        "a fresh token is accepted"
    );

    // clients list, with its filters and pages
    let table = stand.admin(&["clients", "list"], None).await.ok();
    assert!(
        table.stdout.starts_with("CLIENT_ID"),
        "a table: {}",
        table.stdout
    );
    assert!(table.stdout.contains("Client One") && table.stdout.contains("127.0.0.1"));
    let listed = stand.admin(&["clients", "list", "--json"], None).await.ok();
    let lines = listed.json_lines();
    assert_eq!(
        ids(&lines, "client_id"),
        [c2.clone(), c1.clone()],
        "newest first"
    );
    assert_eq!(lines[1]["kind"], "dcr");
    assert_eq!(lines[1]["created_user_agent"], "admin-test/1.0");
    let newest = stand
        .admin(&["clients", "list", "--limit", "1", "--json"], None)
        .await
        .ok();
    assert_eq!(ids(&newest.json_lines(), "client_id"), [c2.as_str()]);
    assert_eq!(
        newest.stderr.trim(),
        "1 older not shown (--limit); --oldest-first --limit N pages through all"
    );
    let oldest = stand
        .admin(&["clients", "list", "--oldest-first", "--json"], None)
        .await
        .ok();
    assert_eq!(
        ids(&oldest.json_lines(), "client_id"),
        [c1.clone(), c2.clone()]
    );
    assert!(
        lines[0].get("secret_hash").is_none(),
        "no hashes in listings"
    );
    let never = stand
        .admin(&["clients", "list", "--never-used", "--json"], None)
        .await
        .ok();
    assert_eq!(ids(&never.json_lines(), "client_id"), [c2.as_str()]);
    let filtered = stand
        .admin(
            &[
                "clients",
                "list",
                "--since",
                "1h",
                "--kind",
                "dcr",
                "--status",
                "active",
                "--oldest-first",
                "--limit",
                "1",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(ids(&filtered.json_lines(), "client_id"), [c1.as_str()]);
    let cursor = filtered
        .stderr
        .trim()
        .strip_prefix("more results: repeat with --after ")
        .unwrap_or_else(|| panic!("a cursor: {}", filtered.stderr))
        .to_owned();
    let rest = stand
        .admin(
            &[
                "clients",
                "list",
                "--oldest-first",
                "--after",
                &cursor,
                "--json",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(ids(&rest.json_lines(), "client_id"), [c2.as_str()]);
    let none = stand
        .admin(&["clients", "list", "--status", "disabled"], None)
        .await
        .ok();
    assert_eq!(none.stdout.trim(), "no clients");

    // clients show
    let shown = stand.admin(&["clients", "show", &c1], None).await.ok();
    for expected in [
        "Client One",
        "127.0.0.1",
        "admin-test/1.0",
        "active grants: 2",
        g1.as_str(),
        "token.refreshed",
        "client.registered",
    ] {
        assert!(
            shown.stdout.contains(expected),
            "{expected}: {}",
            shown.stdout
        );
    }
    let shown = stand
        .admin(&["clients", "show", &c1, "--json"], None)
        .await
        .ok();
    let shown = &shown.json_lines()[0];
    assert_eq!(shown["client"]["client_id"], c1.as_str());
    assert!(
        shown["client"]["last_used_at"].is_i64(),
        "the refresh used it"
    );
    assert_eq!(
        sorted(&ids(shown["active_grants"].as_array().unwrap(), "grant_id")),
        sorted(&[&g1, &g3])
    );
    let missing = stand
        .admin(&["clients", "show", "no-such-client"], None)
        .await;
    assert_eq!(missing.code, 3);
    assert_eq!(missing.stderr.trim(), "error: no client \"no-such-client\"");

    // grants list
    let by_user = stand
        .admin(&["grants", "list", "--user", "alice", "--json"], None)
        .await
        .ok();
    assert_eq!(
        sorted(&ids(&by_user.json_lines(), "grant_id")),
        sorted(&[&g1, &g2])
    );
    let by_client = stand
        .admin(&["grants", "list", "--client", &c1], None)
        .await
        .ok();
    assert!(
        by_client.stdout.starts_with("GRANT_ID"),
        "{}",
        by_client.stdout
    );
    assert!(by_client.stdout.contains(&g1) && by_client.stdout.contains(&g3));
    let usage = stand.admin(&["grants", "list"], None).await;
    assert_eq!(
        usage.code, 2,
        "neither --user nor --client: {}",
        usage.stderr
    );

    // grants revoke ID: refresh fails, the access token is refused at the MCP server
    let dry = stand
        .admin(&["grants", "revoke", &g1, "--dry-run", "--json"], None)
        .await
        .ok();
    assert_eq!(ids(&dry.json_lines(), "grant_id"), [g1.as_str()]);
    assert!(dry.stderr.contains("nothing changed"), "{}", dry.stderr);
    assert_ne!(
        server.mcp_status(&a1).await,
        401,
        "a dry run changes nothing"
    );
    let revoked = stand.admin(&["grants", "revoke", &g1], None).await.ok();
    assert!(
        revoked.stdout.contains("its access tokens are refused"),
        "{}",
        revoked.stdout
    );
    let (status, body) = server.refresh(&c1, &r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(server.mcp_status(&a1).await, 401);
    let again = stand
        .admin(&["grants", "revoke", &g1, "--json"], None)
        .await
        .ok();
    let again = &again.json_lines()[0];
    assert_eq!(again["already_revoked"], true);
    assert_eq!(again["access_tokens_revoked"], true);
    let unknown = stand
        .admin(&["grants", "revoke", "0123456789abcdef"], None)
        .await;
    assert_eq!(unknown.code, 3);

    // grants revoke --user
    let (a2, r2) = server.refreshed(&c2, &r2).await;
    let refused = stand
        .admin(&["grants", "revoke", "--user", "alice"], None)
        .await;
    assert_eq!(refused.code, 2, "no terminal to ask on: {}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let dry = stand
        .admin(
            &["grants", "revoke", "--user", "alice", "--dry-run", "--json"],
            None,
        )
        .await
        .ok();
    assert_eq!(ids(&dry.json_lines(), "grant_id"), [g2.as_str()]);
    assert!(dry.stderr.contains("nothing changed"), "{}", dry.stderr);
    let all = stand
        .admin(
            &["grants", "revoke", "--user", "alice", "--yes", "--json"],
            None,
        )
        .await
        .ok();
    let all = &all.json_lines()[0];
    assert_eq!(all["grants_revoked"], json!([g2]));
    assert_eq!(all["access_tokens_revoked"], true);
    let (status, body) = server.refresh(&c2, &r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(server.mcp_status(&a2).await, 401);

    // clients disable: grants revoked, the client refused at the token endpoint
    let (g4, r4) = server.grant("alice", &c1).await;
    let (a4, r4) = server.refreshed(&c1, &r4).await;
    let disabled = stand
        .admin(
            &[
                "clients",
                "disable",
                &c1,
                "--reason",
                "lost laptop",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    let disabled = &disabled.json_lines()[0];
    let revoked: Vec<String> = serde_json::from_value(disabled["grants_revoked"].clone()).unwrap();
    assert_eq!(sorted(&revoked), sorted(&[&g3, &g4]));
    let (status, body) = server.refresh(&c1, &r4).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(server.mcp_status(&a4).await, 401);
    let listed = stand
        .admin(&["clients", "list", "--status", "disabled", "--json"], None)
        .await
        .ok();
    assert_eq!(ids(&listed.json_lines(), "client_id"), [c1.as_str()]);

    // clients enable: new grants work again
    stand.admin(&["clients", "enable", &c1], None).await.ok();
    let (_g5, r5) = server.grant("alice", &c1).await;
    let (_a5, r5) = server.refreshed(&c1, &r5).await;

    // users disable / enable
    assert_eq!(
        stand.admin(&["users", "disable", "alice"], None).await.code,
        2,
        "without --yes"
    );
    let dry = stand
        .admin(&["users", "disable", "alice", "--dry-run"], None)
        .await
        .ok();
    assert!(dry.stdout.starts_with("GRANT_ID"), "{}", dry.stdout);
    let off = stand
        .admin(&["users", "disable", "alice", "--yes"], None)
        .await
        .ok();
    assert!(
        off.stdout
            .starts_with("disabled user alice: 1 grant(s) revoked"),
        "{}",
        off.stdout
    );
    let (status, body) = server.refresh(&c1, &r5).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let users = stand.admin(&["users", "list", "--json"], None).await.ok();
    assert_eq!(users.json_lines()[0]["enabled"], false);
    stand.admin(&["users", "enable", "alice"], None).await.ok();
    assert_eq!(
        stand
            .admin(&["users", "disable", "nobody", "--yes"], None)
            .await
            .code,
        3
    );

    // keys rotate (the server created the local key on start)
    let rotated = stand.admin(&["keys", "rotate", "--json"], None).await.ok();
    let rotated = &rotated.json_lines()[0];
    assert_ne!(rotated["kid"], rotated["previous_kid"]);
    let refused = stand.admin(&["keys", "rotate"], None).await;
    assert_eq!(refused.code, 1, "the previous key may still be needed");
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    stand.admin(&["keys", "rotate", "--force"], None).await.ok();

    // clients delete
    let refused = stand.admin(&["clients", "delete", &c2], None).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(
        refused.stderr.trim(),
        format!(
            "error: refusing to delete client {c2} and revoke its 0 active grant(s) without --yes \
             (standard input is not a terminal to ask on; --dry-run shows what would change)"
        )
    );
    let dry = stand
        .admin(&["clients", "delete", &c2, "--dry-run"], None)
        .await
        .ok();
    assert_eq!(dry.stdout.trim(), "no grants");
    stand.admin(&["clients", "show", &c2], None).await.ok();
    stand
        .admin(&["clients", "delete", &c2, "--yes"], None)
        .await
        .ok();
    assert_eq!(stand.admin(&["clients", "show", &c2], None).await.code, 3);
    assert_eq!(
        stand
            .admin(&["clients", "delete", &c2, "--yes"], None)
            .await
            .code,
        3
    );

    // grants revoke --client
    let (_g6, _r6) = server.grant("bob", &c1).await;
    let by_client = stand
        .admin(
            &["grants", "revoke", "--client", &c1, "--yes", "--json"],
            None,
        )
        .await
        .ok();
    assert_eq!(
        by_client.json_lines()[0]["grants_revoked"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // audit tail and search: every admin action is on the trail, from the cli, by the operator
    let tail = stand
        .admin(&["audit", "tail", "-n", "2", "--json"], None)
        .await
        .ok();
    let tail = tail.json_lines();
    assert_eq!(tail.len(), 2);
    assert_eq!(tail[0]["kind"], "admin.grants.revoked", "newest first");
    assert_eq!(tail[1]["kind"], "admin.client.deleted");
    let table = stand.admin(&["audit", "tail"], None).await.ok();
    assert!(table.stdout.starts_with("TIME"), "{}", table.stdout);
    let admin = stand
        .admin(&["audit", "search", "--type", "admin.*", "--json"], None)
        .await
        .ok();
    let admin = admin.json_lines();
    let mut kinds: Vec<&str> = admin.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    kinds.reverse();
    assert_eq!(
        kinds,
        [
            "admin.table.created",
            "admin.table.created",
            "admin.user.added",
            "admin.user.added",
            "admin.grant.revoked",
            "admin.grants.revoked",
            "admin.client.disabled",
            "admin.client.enabled",
            "admin.user.disabled",
            "admin.user.enabled",
            "admin.key.rotated",
            "admin.key.rotated",
            "admin.client.deleted",
            "admin.grants.revoked",
        ]
    );
    for event in &admin {
        assert_eq!(event["detail"]["source"], "cli");
        assert_eq!(event["detail"]["operator"], OPERATOR);
    }
    let of_client = stand
        .admin(
            &[
                "audit",
                "search",
                "--client",
                &c1,
                "--type",
                "admin.client.*",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    let of_client = of_client.json_lines();
    assert_eq!(of_client.len(), 2);
    assert_eq!(of_client[0]["kind"], "admin.client.enabled");
    assert_eq!(of_client[1]["detail"]["reason"], "lost laptop");
    let of_bob = stand
        .admin(
            &[
                "audit",
                "search",
                "--user",
                "bob",
                "--since",
                "1h",
                "--until",
                "2099-01-01",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    let kinds: Vec<Value> = of_bob
        .json_lines()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("admin.user.added")]);
    let paged = stand
        .admin(
            &[
                "audit",
                "search",
                "--oldest-first",
                "--limit",
                "3",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(paged.json_lines().len(), 3);
    assert!(paged.stderr.contains("--after "), "{}", paged.stderr);
    let empty = stand
        .admin(
            &[
                "audit",
                "search",
                "--since",
                "2000-01-01",
                "--until",
                "2000-01-02",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(empty.stdout.trim(), "no audit events");
    let bad_time = stand
        .admin(&["audit", "search", "--since", "yesterday"], None)
        .await;
    assert_eq!(bad_time.code, 2, "{}", bad_time.stderr);
    let impossible = stand
        .admin(&["audit", "search", "--since", "2026-02-31"], None)
        .await;
    assert_eq!(impossible.code, 2, "{}", impossible.stderr);
    assert!(
        impossible
            .stderr
            .contains("\"2026-02-31\" is not a date: February 2026 has 28 days"),
        "{}",
        impossible.stderr
    );

    investigations(&stand, &c1).await;
    people(&stand, &server, &c1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_subcommand_on_sqlite() {
    every_subcommand(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_subcommand_on_dynamodb() {
    every_subcommand(Backend::Dynamo).await;
}

/// `clients add`: an operator-registered client (for closed registration), validated as
/// `/register` validates, never expiring, its secret shown once, audited.
async fn operators_add_static_clients(backend: Backend) {
    let stand = Stand::new(backend);
    stand.admin(&["init-table"], None).await.ok();
    let added = stand
        .admin(
            &[
                "clients",
                "add",
                "--name",
                "Team dashboard",
                "--redirect-uri",
                "https://dash.example.com/cb",
                "--auth",
                "post",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    let added = &added.json_lines()[0];
    let client_id = added["client_id"].as_str().unwrap().to_owned();
    assert_eq!(added["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(added["token_endpoint_auth_method"], "client_secret_post");
    let listed = stand
        .admin(&["clients", "list", "--kind", "static", "--json"], None)
        .await
        .ok();
    let listed = listed.json_lines();
    assert_eq!(ids(&listed, "client_id"), [client_id.as_str()]);
    assert_eq!(listed[0]["expires_at"], Value::Null);
    assert_eq!(listed[0]["confidential"], true);
    // A public client gets no secret.
    let public = stand
        .admin(
            &[
                "clients",
                "add",
                "--name",
                "Desktop app",
                "--redirect-uri",
                "http://127.0.0.1/cb",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(public.json_lines()[0]["client_secret"], Value::Null);
    // Refused as /register refuses it: nothing stored.
    let refused = stand
        .admin(
            &[
                "clients",
                "add",
                "--name",
                "x",
                "--redirect-uri",
                "http://evil.example/cb",
            ],
            None,
        )
        .await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("not added"), "{}", refused.stderr);
    let all = stand.admin(&["clients", "list", "--json"], None).await.ok();
    assert_eq!(all.json_lines().len(), 2);
    let trail = stand
        .admin(
            &["audit", "search", "--type", "admin.client.added", "--json"],
            None,
        )
        .await
        .ok();
    assert_eq!(trail.json_lines().len(), 2);

    // Users are shown as their latest sign-in described them (Cognito's username and email).
    let server = stand.serve().await;
    let sub = "5c6f3a1e-8d2b-4f7a-9e01-3b4c5d6e7f80";
    let (grant_id, _) = server.grant(sub, &client_id).await;
    server
        .stores
        .profiles
        .put(&shared::store::UserProfile {
            sub: sub.into(),
            username: Some("alice".into()),
            email: Some("alice@example.com".into()),
            groups: vec![],
            last_login_at: SystemClock.now(),
        })
        .await
        .unwrap();
    let table = stand
        .admin(&["grants", "list", "--user", sub], None)
        .await
        .ok();
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with(&grant_id))
        .unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(
        row.contains(&format!("alice <alice@example.com> ({sub})")),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_add_static_clients_on_sqlite() {
    operators_add_static_clients(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_add_static_clients_on_dynamodb() {
    operators_add_static_clients(Backend::Dynamo).await;
}

/// `clients add --resource-server`: a resource server bound to its resource, its secret shown
/// once; it may introspect (RFC 7662) tokens for that resource at a server over the same store,
/// and sees them inactive once an admin revokes the grant; an OAuth client's credentials are
/// refused there.
async fn operators_add_resource_servers(backend: Backend) {
    let stand = Stand::new(backend);
    stand.admin(&["init-table"], None).await.ok();
    let server = stand.serve().await;
    let added = stand
        .admin(
            &[
                "clients",
                "add",
                "--name",
                "Tools server",
                "--resource-server",
                &server.resource,
                "--json",
            ],
            None,
        )
        .await
        .ok();
    let added = &added.json_lines()[0];
    let rs_id = added["client_id"].as_str().unwrap().to_owned();
    let rs_secret = added["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(rs_secret.len(), 43);
    assert_eq!(added["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(added["resources"], json!([server.resource]));
    let listed = stand
        .admin(
            &["clients", "list", "--kind", "resource-server", "--json"],
            None,
        )
        .await
        .ok();
    assert_eq!(ids(&listed.json_lines(), "client_id"), [rs_id.as_str()]);
    // Refused: no secret, a resource that is no absolute http(s) URL, both kinds at once.
    for (args, code) in [
        (
            vec![
                "--resource-server",
                server.resource.as_str(),
                "--auth",
                "public",
            ],
            1,
        ),
        (vec!["--resource-server", "not a url"], 1),
        (vec!["--resource-server", "urn:example:tools"], 1),
        (
            vec![
                "--resource-server",
                server.resource.as_str(),
                "--redirect-uri",
                "https://a.example/cb",
            ],
            2,
        ),
    ] {
        let mut full = vec!["clients", "add", "--name", "x"];
        full.extend(args.iter().copied());
        let refused = stand.admin(&full, None).await;
        assert_eq!(refused.code, code, "{args:?}: {}", refused.stderr);
    }
    let all = stand.admin(&["clients", "list", "--json"], None).await.ok();
    assert_eq!(all.json_lines().len(), 1, "nothing else stored");
    // `clients show` names the resource.
    let shown = stand
        .admin(&["clients", "show", &rs_id, "--json"], None)
        .await
        .ok();
    assert!(shown.stdout.contains(&server.resource), "{}", shown.stdout);

    stand
        .admin(&["users", "add", "alice"], Some(PASSWORD))
        .await
        .ok();
    let client_id = server.register("Some client").await;
    let (grant_id, refresh) = server.grant("alice", &client_id).await;
    let (access, _) = server.refreshed(&client_id, &refresh).await;
    let introspect = |id: String, secret: String, token: String| {
        let http = server.http.clone();
        let url = format!("{}/introspect", server.base);
        async move {
            let reply = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap();
            let status = reply.status().as_u16();
            (status, reply.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = introspect(rs_id.clone(), rs_secret.clone(), access.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(body["aud"], server.resource.as_str());
    // An OAuth client's valid credentials are no resource server's.
    let static_client = stand
        .admin(
            &[
                "clients",
                "add",
                "--name",
                "Dashboard",
                "--redirect-uri",
                "https://dash.example.com/cb",
                "--auth",
                "basic",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    let static_client = &static_client.json_lines()[0];
    let (status, body) = introspect(
        static_client["client_id"].as_str().unwrap().into(),
        static_client["client_secret"].as_str().unwrap().into(),
        access.clone(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Revoked by the admin: inactive at once.
    stand
        .admin(&["grants", "revoke", &grant_id], None)
        .await
        .ok();
    let (status, body) = introspect(rs_id.clone(), rs_secret.clone(), access).await;
    assert_eq!((status, body), (200, json!({"active": false})));
    // A disabled resource server may not ask any more.
    stand
        .admin(&["clients", "disable", &rs_id], None)
        .await
        .ok();
    let (status, _) = introspect(rs_id, rs_secret, "x".into()).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_add_resource_servers_on_sqlite() {
    operators_add_resource_servers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_add_resource_servers_on_dynamodb() {
    operators_add_resource_servers(Backend::Dynamo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_one_clear_line() {
    let output = tokio::task::spawn_blocking(|| {
        Command::new(BIN)
            .args([
                "admin",
                "clients",
                "list",
                "--store",
                "dynamodb:unreachable",
            ])
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: store dynamodb:unreachable: ")
            && stderr.contains("DynamoDB Query failed"),
        "{stderr}"
    );
    assert!(stderr.contains("is the endpoint reachable?"), "{stderr}");
}

/// A client stored before registration refused hidden characters (or written by any other
/// path): the operator's terminal gets visible escapes, never the characters themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stored_terminal_escapes_are_shown_escaped() {
    use shared::oauth::client_metadata::{ClientMetadata, is_hidden_or_control};
    use shared::store::{ClientKind, ClientRecord, ClientStatus};

    let stand = Stand::new(Backend::Sqlite);
    stand.admin(&["init-table"], None).await.ok();
    let server = stand.serve().await;
    let evil = "Evil\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe\u{200b}\u{7f}";
    let client_id = "escapes-client";
    let client = ClientRecord {
        client_id: shared::oauth::client_id::ClientId::from_stored(client_id),
        kind: ClientKind::Dcr,
        status: ClientStatus::Active,
        metadata: ClientMetadata {
            redirect_uris: vec![shared::oauth::redirect_uri::RedirectUri::from_stored(
                format!("https://a.example/cb{}", '\u{1b}'),
            )],
            token_endpoint_auth_method: shared::oauth::client_values::AuthMethod::None,
            grant_types: vec![shared::oauth::client_values::GrantType::AuthorizationCode],
            response_types: vec!["code".into()],
            client_name: Some(evil.into()),
            client_uri: Some(format!("https://a.example/{evil}")),
            software_id: Some(evil.into()),
            ..ClientMetadata::default()
        },
        secret_hash: None,
        registration_token_hash: None,
        resources: Vec::new(),
        created_at: SystemClock.now(),
        created_ip: Some("192.0.2.1".into()),
        created_user_agent: Some(evil.into()),
        last_used_at: None,
        revision: 0,
        expires_at: None,
    };
    assert!(server.stores.clients.create(&client).await.unwrap());

    for args in [
        &["clients", "list"][..],
        &["clients", "show", client_id][..],
    ] {
        let ran = stand.admin(args, None).await.ok();
        assert!(
            !ran.stdout
                .lines()
                .any(|l| l.chars().any(is_hidden_or_control)),
            "{args:?}: {:?}",
            ran.stdout
        );
        assert!(
            ran.stdout.contains(
                r"Evil\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe\u{200b}\u{7f}"
            ),
            "{args:?}: {}",
            ran.stdout
        );
    }
    for args in [
        &["clients", "list", "--json"][..],
        &["clients", "show", client_id, "--json"][..],
    ] {
        let ran = stand.admin(args, None).await.ok();
        assert!(
            !ran.stdout
                .lines()
                .any(|l| l.chars().any(is_hidden_or_control)),
            "{args:?}: {:?}",
            ran.stdout
        );
        let line = &ran.json_lines()[0];
        let listed = line.get("client").unwrap_or(line);
        assert_eq!(
            listed["client_name"], evil,
            "{args:?}: the same value, escaped"
        );
    }
}

/// The filters of an investigation (`--from`, `--name`, `--user-agent`) on clients and the audit
/// trail, and the output formats: JSON lines through a pipe, CSV on request.
async fn investigations(stand: &Stand, c1: &str) {
    let from = stand
        .admin(
            &[
                "clients",
                "list",
                "--from",
                "127.0.0.0/8",
                "--name",
                "ONE",
                "--user-agent",
                "Admin-Test",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(ids(&from.json_lines(), "client_id"), [c1]);
    for (flag, value) in [
        ("--from", "10.0.0.0/8"),
        ("--from", "127.0.0.2"),
        ("--name", "Two"),
        ("--user-agent", "curl"),
    ] {
        let none = stand
            .admin(&["clients", "list", flag, value], None)
            .await
            .ok();
        assert_eq!(none.stdout.trim(), "no clients", "{flag} {value}");
    }
    let bad = stand
        .admin(&["clients", "list", "--from", "127.0.0.0/33"], None)
        .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("CIDR"), "{}", bad.stderr);

    let registered = stand
        .admin(
            &[
                "audit",
                "search",
                "--type",
                "client.registered",
                "--from",
                "127.0.0.1",
                "--user-agent",
                "admin-test",
                "--json",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(registered.json_lines().len(), 2, "both clients registered");
    let elsewhere = stand
        .admin(&["audit", "tail", "--from", "192.0.2.0/24", "--json"], None)
        .await
        .ok();
    assert!(elsewhere.json_lines().is_empty());
    let cli = stand
        .admin(
            &[
                "audit",
                "tail",
                "-n",
                "3",
                "--user-agent",
                "serverless-mcp/",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(
        cli.stdout.lines().count(),
        4,
        "a header and 3: {}",
        cli.stdout
    );
    assert!(cli.stdout.lines().skip(1).all(|l| l.contains("  cli  ")));

    // Through a pipe the same data comes as JSON lines; --csv as CSV.
    let piped = stand.piped(&["clients", "list"]).await.ok();
    assert_eq!(ids(&piped.json_lines(), "client_id"), [c1]);
    let csv = stand.piped(&["clients", "list", "--csv"]).await.ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "CLIENT_ID,KIND,STATUS,NAME,REGISTERED,FROM,LAST_USED"
    );
    // A random id may start with `-`, which CSV output defuses as a formula would be.
    let shown = if c1.starts_with(['=', '+', '-', '@']) {
        format!("'{c1}")
    } else {
        c1.to_string()
    };
    assert!(
        lines[1].starts_with(&format!("{shown},dcr,active,Client One,")),
        "{}",
        csv.stdout
    );
    assert_eq!(lines.len(), 2);
}

/// `users passwd`, `users groups`, `consents list|revoke` and `users delete`, each audited.
async fn people(stand: &Stand, server: &Server, c1: &str) {
    use shared::store::ConsentRecord;

    // users passwd: a new hash; a weak password changes nothing.
    let before = server.stores.login_users.get("bob").await.unwrap().unwrap();
    stand
        .admin(&["users", "passwd", "bob"], Some("another long password\n"))
        .await
        .ok();
    let after = server.stores.login_users.get("bob").await.unwrap().unwrap();
    assert_ne!(before.password_hash, after.password_hash);
    let weak = stand
        .admin(&["users", "passwd", "bob"], Some("short"))
        .await;
    assert_eq!(weak.code, 1);
    assert!(weak.stderr.contains("12 to 1024"), "{}", weak.stderr);
    assert_eq!(
        stand
            .admin(&["users", "passwd", "nobody"], Some(PASSWORD))
            .await
            .code,
        3
    );

    // users groups: show, set, clear.
    let shown = stand.admin(&["users", "groups", "bob"], None).await.ok();
    assert_eq!(shown.stdout.trim(), "user bob: groups -");
    let set = stand
        .admin(
            &[
                "users", "groups", "bob", "--set", "ops", "--set", "finance", "--json",
            ],
            None,
        )
        .await
        .ok();
    assert_eq!(set.json_lines()[0]["groups"], json!(["ops", "finance"]));
    let stored = server.stores.login_users.get("bob").await.unwrap().unwrap();
    assert_eq!(stored.groups, ["ops", "finance"]);
    assert_eq!(stored.password_hash, after.password_hash, "only the groups");
    stand
        .admin(&["users", "groups", "bob", "--clear"], None)
        .await
        .ok();
    let cleared = stand.piped(&["users", "groups", "bob"]).await.ok();
    assert_eq!(cleared.json_lines()[0]["groups"], json!([]));

    // consents list / revoke
    let now = SystemClock.now();
    for (client_id, at) in [(c1, now - 60), ("other-client", now)] {
        let consent = ConsentRecord {
            sub: "bob".into(),
            client_id: shared::oauth::client_id::ClientId::from_stored(client_id),
            scope: shared::oauth::scope::Scope::from_stored("costs:read"),
            granted_at: at,
            redirect_uris_digest: None,
        };
        server.stores.consents.put(&consent).await.unwrap();
    }
    let listed = stand
        .admin(&["consents", "list", "--user", "bob", "--json"], None)
        .await
        .ok();
    assert_eq!(
        ids(&listed.json_lines(), "client_id"),
        ["other-client", c1],
        "newest first"
    );
    let table = stand
        .admin(&["consents", "list", "--user", "bob"], None)
        .await
        .ok();
    assert!(table.stdout.starts_with("USER  CLIENT"), "{}", table.stdout);
    stand
        .admin(
            &[
                "consents",
                "revoke",
                "--user",
                "bob",
                "--client",
                "other-client",
            ],
            None,
        )
        .await
        .ok();
    let again = stand
        .admin(
            &[
                "consents",
                "revoke",
                "--user",
                "bob",
                "--client",
                "other-client",
            ],
            None,
        )
        .await;
    assert_eq!(again.code, 3, "{}", again.stderr);
    let all = stand
        .admin(&["consents", "revoke", "--user", "bob"], None)
        .await;
    assert_eq!(all.code, 2, "bulk needs --yes: {}", all.stderr);
    let dry = stand
        .admin(
            &["consents", "revoke", "--user", "bob", "--dry-run", "--json"],
            None,
        )
        .await
        .ok();
    assert_eq!(ids(&dry.json_lines(), "client_id"), [c1]);
    assert!(
        server
            .stores
            .consents
            .get("bob", c1)
            .await
            .unwrap()
            .is_some()
    );

    // users delete: grants revoked, consents forgotten, the login gone.
    let (grant, refresh) = server.grant("bob", c1).await;
    let refused = stand.admin(&["users", "delete", "bob"], None).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let dry = stand
        .admin(&["users", "delete", "bob", "--dry-run"], None)
        .await
        .ok();
    assert!(dry.stdout.contains(&grant), "{}", dry.stdout);
    assert!(dry.stdout.contains("USER  CLIENT"), "{}", dry.stdout);
    assert!(
        dry.stderr.contains(
            "would delete user bob, revoke their 1 active grant(s) and forget their 1 consent(s)"
        ),
        "{}",
        dry.stderr
    );
    assert!(
        server
            .stores
            .login_users
            .get("bob")
            .await
            .unwrap()
            .is_some()
    );
    let deleted = stand
        .admin(&["users", "delete", "bob", "--yes", "--json"], None)
        .await
        .ok();
    let deleted = &deleted.json_lines()[0];
    assert_eq!(deleted["grants_revoked"], json!([grant]));
    assert_eq!(deleted["consents_revoked"], 1);
    assert_eq!(server.stores.login_users.get("bob").await.unwrap(), None);
    assert_eq!(server.stores.consents.get("bob", c1).await.unwrap(), None);
    let (status, body) = server.refresh(c1, &refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        stand
            .admin(&["users", "delete", "bob", "--yes"], None)
            .await
            .code,
        3
    );

    let audited = stand
        .admin(
            &[
                "audit", "search", "--user", "bob", "--since", "1h", "--json",
            ],
            None,
        )
        .await
        .ok();
    let admin: Vec<Value> = audited
        .json_lines()
        .into_iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("admin."))
        .collect();
    let kinds: Vec<&str> = admin.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "admin.user.deleted",
            "admin.consents.revoked",
            "admin.user.groups_changed",
            "admin.user.groups_changed",
            "admin.user.password_changed",
            "admin.user.added",
        ]
    );
    assert_eq!(admin[0]["detail"]["consents_revoked"], 1);
    assert_eq!(admin[1]["client_id"], "other-client");
    assert_eq!(
        admin[2]["detail"]["previous_groups"],
        json!(["ops", "finance"])
    );
    for event in &admin {
        assert_eq!(event["detail"]["operator"], OPERATOR);
    }
}
