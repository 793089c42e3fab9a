//! The README's example admin session cannot drift: every `$ serverless-mcp admin …` command
//! of the block under "Example session" runs against a temporary SQLite store seeded with the
//! clients, grants and consent it describes, and its output (standard output, then standard
//! error) must be the block's. Only the times of what the session itself does (audit events,
//! the user it adds) are compared as placeholders; ids, seeded times, values and the column
//! layout are compared as written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use shared::clock::{Clock, SystemClock, rfc3339};
use shared::config::{StoreConfig, keys};
use shared::oauth::client_metadata::ClientMetadata;
use shared::oauth::client_values::{AuthMethod, GrantType};
use shared::secret::random_id;
use shared::store::{
    ClientKind, ClientRecord, ClientStatus, ConsentRecord, GrantRecord, GrantStatus,
};

const BIN: &str = env!("CARGO_BIN_EXE_serverless-mcp");
const README: &str = include_str!("../../README.md");
const OPERATOR: &str = "ops";

/// 2026-11-29T09:00:00Z, when the seeded story starts.
const T0: i64 = 1_795_942_800;
/// 2099-01-01T00:00:00Z: seeded grants outlive any run of this test.
const FAR: i64 = 4_070_908_800;
const CLAUDE: &str = "Jq2vX0bqQ1mB7wWc3kHn8A";
const SCRAPER: &str = "u7Zt0pLx4RkQe9sVb2NcYw";

/// The seeded times, which stay as they are; every other time is the session's own.
fn seeded_times() -> Vec<String> {
    [
        T0,
        T0 + 60,
        T0 + 3600,
        T0 + 7200,
        T0 + 7260,
        T0 + 86_400,
        FAR,
    ]
    .iter()
    .map(|t| rfc3339(*t))
    .collect()
}

async fn seed(data_dir: &Path) {
    let store = StoreConfig::Sqlite {
        path: data_dir.join("state.db"),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = shared::store::connect(&store, clock, &shared::aws::Aws::default())
        .await
        .unwrap();
    let client =
        |id: &str, name: &str, at: i64, ip: &str, agent: &str, used: Option<i64>| ClientRecord {
            client_id: shared::oauth::client_id::ClientId::from_stored(id),
            kind: ClientKind::Dcr,
            status: ClientStatus::Active,
            metadata: ClientMetadata {
                redirect_uris: vec![shared::oauth::redirect_uri::RedirectUri::from_stored(
                    "http://127.0.0.1:33418/callback",
                )],
                token_endpoint_auth_method: AuthMethod::None,
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                response_types: vec!["code".into()],
                client_name: Some(name.into()),
                ..ClientMetadata::default()
            },
            secret_hash: None,
            registration_token_hash: None,
            resources: Vec::new(),
            created_at: at,
            created_ip: Some(ip.into()),
            created_user_agent: Some(agent.into()),
            last_used_at: used,
            revision: 0,
            expires_at: None,
        };
    for record in [
        client(
            CLAUDE,
            "Claude Code",
            T0,
            "203.0.113.24",
            "claude-code/2.0.14",
            Some(T0 + 86_400),
        ),
        client(
            SCRAPER,
            "cost-scraper",
            T0 + 7200,
            "198.51.100.9",
            "python-httpx/0.28.1",
            None,
        ),
    ] {
        assert!(stores.clients.create(&record).await.unwrap());
    }
    let grant = |id: &str, sub: &str, client_id: &str, at: i64| GrantRecord {
        grant_id: id.into(),
        sub: sub.into(),
        client_id: shared::oauth::client_id::ClientId::from_stored(client_id),
        scope: shared::oauth::scope::Scope::from_stored("costs:read"),
        resource: shared::oauth::resource::ResourceUri::from_stored("http://127.0.0.1:8080/mcp"),
        groups: vec![],
        refresh_hash: shared::secret::Secret::new(id).hash(),
        previous_refresh_hash: None,
        superseded_hashes: vec![],
        rotated_at: None,
        version: 0,
        status: GrantStatus::Active,
        created_at: at,
        expires_at: Some(FAR),
        upstream_session: None,
    };
    for record in [
        grant("4f1c2a9be07d4c55a3e1d2f0b6c7a819", "alice", CLAUDE, T0 + 60),
        grant(
            "9d3e7b1f5a2c48e6b0f4a7c1d8e2b635",
            "alice",
            SCRAPER,
            T0 + 7260,
        ),
    ] {
        assert!(stores.grants.create(&record).await.unwrap());
    }
    let consent = ConsentRecord {
        sub: "alice".into(),
        client_id: shared::oauth::client_id::ClientId::from_stored(CLAUDE),
        scope: shared::oauth::scope::Scope::from_stored("costs:read"),
        granted_at: T0 + 60,
        redirect_uris_digest: None,
    };
    stores.consents.put(&consent).await.unwrap();
}

/// The example block: the fenced `console` block after "Example session".
fn readme_session() -> &'static str {
    let start = README
        .find("Example session")
        .expect("README.md has an \"Example session\" under Admin");
    let after = &README[start..];
    let open = after.find("```console\n").expect("a ```console block") + "```console\n".len();
    let close = after[open..].find("\n```").expect("the block ends");
    &after[open..open + close + 1]
}

/// One command of the session and what the README shows it printing.
struct Step {
    line: String,
    expected: String,
}

fn steps(session: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for line in session.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: command.to_owned(),
                expected: String::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.expected.push_str(line);
            step.expected.push('\n');
        } else {
            panic!("output before the first command: {line}");
        }
    }
    for step in &mut steps {
        step.expected = format!("{}\n", step.expected.trim_end());
    }
    steps
}

/// Words of a command line: spaces separate, single quotes group.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote: {line}");
    if any {
        words.push(word);
    }
    words
}

/// Runs one README command line in `dir` (where the default data dir `.data` is): an optional
/// `printf '%s' 'PW' | ` feeding standard input, an optional `| cat` (a pipe: the output
/// format left to decide) and an optional `; echo "exit $?"`.
fn run(dir: &Path, line: &str) -> String {
    let (line, echo_exit) = match line.strip_suffix("; echo \"exit $?\"") {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    let (line, piped) = match line.strip_suffix(" | cat") {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    let (stdin, line) = match line.strip_prefix("printf '%s' '") {
        Some(rest) => {
            let (password, command) = rest.split_once("' | ").expect("printf '%s' 'PW' | …");
            (password.to_owned(), command)
        }
        None => (String::new(), line),
    };
    let words = words(line);
    assert_eq!(
        words[..2],
        ["serverless-mcp", "admin"],
        "only admin commands: {line}"
    );
    let mut command = Command::new(BIN);
    command
        .args(&words[1..])
        .current_dir(dir)
        .env_remove(keys::STORE)
        .env_remove(keys::TABLE)
        .env_remove(keys::DATA_DIR)
        .env("USER", OPERATOR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if piped {
        command.env_remove("SMCP_ADMIN_FORMAT");
    } else {
        // As on the operator's terminal.
        command.env("SMCP_ADMIN_FORMAT", "table");
    }
    let mut child = command.spawn().unwrap();
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let mut text = String::from_utf8(output.stdout).unwrap();
    text.push_str(&String::from_utf8(output.stderr).unwrap());
    if echo_exit {
        text.push_str(&format!("exit {}\n", output.status.code().unwrap_or(-1)));
    }
    format!("{}\n", text.trim_end())
}

/// What a time of the session itself reads as: as wide as an RFC 3339 time.
const SESSION_TIME: &str = "<the session's time>";

/// Every RFC 3339 time that is not a seeded one becomes a placeholder of the same width, so
/// the columns stay where they are.
fn normalise(text: &str, keep: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let candidate = text.get(i..i + 20);
        let is_time = candidate.is_some_and(|c| {
            c.bytes().enumerate().all(|(j, b)| match j {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'Z',
                _ => b.is_ascii_digit(),
            })
        });
        match candidate {
            Some(time) if is_time => {
                if keep.iter().any(|k| k == time) {
                    out.push_str(time);
                } else {
                    out.push_str(SESSION_TIME);
                }
                i += 20;
            }
            _ => {
                let c = text[i..].chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// One line of output as compared: a JSON line as its value (key order is serde_json's build
/// choice), any other line as [`normalise`]d text.
#[derive(Debug, PartialEq)]
enum Line {
    Json(serde_json::Value),
    Text(String),
}

fn comparable(text: &str, keep: &[String]) -> Vec<Line> {
    normalise(text, keep)
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(value @ serde_json::Value::Object(_)) => Line::Json(value),
            _ => Line::Text(line.to_owned()),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_admin_session_is_what_the_commands_print() {
    let dir: PathBuf = std::env::temp_dir().join(format!("readme-admin-{}", random_id()));
    let data_dir = dir.join(".data");
    seed(&data_dir).await;
    let keep = seeded_times();
    let steps = steps(readme_session());
    assert!(steps.len() >= 10, "the session shows the admin commands");
    let mut transcript = String::new();
    let mut mismatches = Vec::new();
    for step in &steps {
        let actual = tokio::task::block_in_place(|| run(&dir, &step.line));
        transcript.push_str(&format!("$ {}\n{actual}\n", step.line));
        if comparable(&actual, &keep) != comparable(&step.expected, &keep) {
            mismatches.push(format!(
                "$ {}\n--- README\n{}--- printed\n{}",
                step.line, step.expected, actual
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        mismatches.is_empty(),
        "the README's example session differs from what the commands print:\n{}\n\
         the whole session as printed now:\n{transcript}",
        mismatches.join("\n")
    );
}

#[test]
fn normalising_keeps_seeded_times_and_widths() {
    let keep = vec![rfc3339(T0)];
    let text = format!("{}  x  2026-12-04T10:11:12Z  y\n", rfc3339(T0));
    assert_eq!(
        normalise(&text, &keep),
        "2026-11-29T09:00:00Z  x  <the session's time>  y\n"
    );
    assert_eq!(normalise(&text, &keep).len(), text.len());
    assert_eq!(
        words("a 'b c' d  ''"),
        ["a", "b c", "d", ""],
        "quotes group, empty quotes are a word"
    );
}
