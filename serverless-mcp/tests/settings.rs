//! Every setting in the README's configuration table means something to `serve`: set to a value
//! it cannot honour, `serve` stops before it listens, with one `error:` line naming the setting
//! (so no setting is silently ignored), and the few whose every value is acceptable name the
//! test that proves them honoured. A setting added to the README, or to this list, without the
//! other fails the test.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// A valid Cognito login, so that one of its settings can be spoiled at a time.
const COGNITO: &[(&str, &str)] = &[
    ("SMCP_LOGIN", "cognito"),
    ("SMCP_COGNITO_REGION", "us-east-1"),
    ("SMCP_COGNITO_USER_POOL_ID", "us-east-1_AbC123"),
    (
        "SMCP_COGNITO_DOMAIN",
        "https://example.auth.us-east-1.amazoncognito.com",
    ),
    ("SMCP_COGNITO_CLIENT_ID", "client"),
    ("SMCP_COGNITO_CLIENT_SECRET", "secret"),
];

/// How a setting is shown to be read by `serve`.
enum Proof {
    /// `serve` with `env` (over `base`) stops with an `error:` line containing `names`.
    Refused {
        base: &'static [(&'static str, &'static str)],
        env: (&'static str, &'static str),
        names: &'static str,
    },
    /// Not `serve`'s to refuse (every value is acceptable, or the setting is the admin CLI's);
    /// this test (file under `serverless-mcp/tests/`, function) shows it honoured.
    HonouredBy {
        file: &'static str,
        test: &'static str,
    },
}

fn refused(setting: &'static str, value: &'static str) -> (&'static str, Proof) {
    (
        setting,
        Proof::Refused {
            base: &[],
            env: (setting, value),
            names: setting,
        },
    )
}

fn refused_with_cognito(setting: &'static str, value: &'static str) -> (&'static str, Proof) {
    (
        setting,
        Proof::Refused {
            base: COGNITO,
            env: (setting, value),
            names: setting,
        },
    )
}

fn proofs() -> Vec<(&'static str, Proof)> {
    vec![
        // The flag's variable: clap names the flag it stands for.
        (
            "SMCP_ADDR",
            Proof::Refused {
                base: &[],
                env: ("SMCP_ADDR", "not-an-address"),
                names: "--addr",
            },
        ),
        // A file where the folder should be.
        refused("SMCP_DATA_DIR", "/etc/passwd"),
        refused("SMCP_ISSUER", "ftp://auth.example.com"),
        refused("SMCP_RESOURCE", "http://mcp.example.com/mcp"),
        refused("SMCP_STORE", "mongodb"),
        (
            "SMCP_TABLE",
            Proof::Refused {
                base: &[("SMCP_STORE", "dynamodb")],
                env: ("SMCP_TABLE", "no!"),
                names: "SMCP_TABLE",
            },
        ),
        refused("SMCP_SIGNING_KEY", "pgp:key"),
        // Only a KMS key has previous keys in the environment; the local key keeps its own.
        refused("SMCP_SIGNING_KEY_PREVIOUS", "kms:old"),
        refused("SMCP_ACCESS_TOKEN_TTL", "5"),
        refused("SMCP_REFRESH_TOKEN_TTL", "forever"),
        refused("SMCP_REGISTER_RATE_LIMIT", "many"),
        refused("SMCP_REGISTER_RATE_EXEMPT", "the office"),
        refused("SMCP_AUTHORIZE_RATE_LIMIT", "10"),
        refused("SMCP_CLIENT_IDLE_DAYS", "a month"),
        refused("SMCP_REFRESH_GRACE", "3600"),
        refused("SMCP_LOGIN", "ldap"),
        refused_with_cognito("SMCP_COGNITO_REGION", "US East"),
        refused_with_cognito("SMCP_COGNITO_USER_POOL_ID", "eu-west-1_AbC123"),
        refused_with_cognito("SMCP_COGNITO_DOMAIN", "example.auth.amazoncognito.com"),
        // Empty counts as unset: required with the Cognito login.
        refused_with_cognito("SMCP_COGNITO_CLIENT_ID", ""),
        refused_with_cognito("SMCP_COGNITO_CLIENT_SECRET", ""),
        refused_with_cognito("SMCP_COGNITO_DISCOVERY_URL", "https://idp.example.com/x"),
        refused("SMCP_COOKIE_KEY", "c2hvcnQ"),
        refused("SMCP_ACCOUNT_SCOPES", "finance: all"),
        refused("SMCP_COST_SOURCE", "invoices"),
        refused("SMCP_COST_CACHE_TTL_SECS", "1h"),
        refused("SMCP_COST_DAILY_BUDGET", "-1"),
        refused("SMCP_ALLOWED_HOSTS", "https://mcp.example.com"),
        refused("SMCP_ALLOWED_ORIGINS", "https://app.example.com/"),
        refused("SMCP_ORIGIN_SECRET", "short"),
        refused("SMCP_CIMD_TEST_CA", "/nonexistent/ca.pem"),
        refused("SMCP_CIMD_TEST_RESOLVE", "claude.ai=10.0.0.1:443"),
        refused("SMCP_REGISTRATION", "invite-only"),
        refused("SMCP_REGISTRATION_REDIRECT_HOSTS", "https://claude.ai"),
        refused("SMCP_CIMD_HOSTS", "claude.ai/clients"),
        refused("SMCP_SCOPES", "costs:read \"quoted\""),
        refused("SMCP_SCOPE_DESCRIPTIONS", "costs:write=not a listed scope"),
        // Well-formed, but the Cost Explorer server that serve runs needs costs:resources too.
        (
            "SMCP_SCOPES",
            Proof::Refused {
                base: &[],
                env: ("SMCP_SCOPES", "costs:read"),
                names: "SMCP_SCOPES: the server declares the scopes costs:resources",
            },
        ),
        refused("SMCP_LOG_FORMAT", "xml"),
        refused("RUST_LOG", "=["),
        // Read and checked by serve as by the Lambda functions; the namespace only names the
        // functions' CloudWatch metrics (serve shows the same counters on /metrics).
        refused("SMCP_METRICS_NAMESPACE", ":starts-with-a-colon"),
        // The admin CLI's output format (the README marks it `admin` only).
        (
            "SMCP_ADMIN_FORMAT",
            Proof::HonouredBy {
                file: "admin.rs",
                test: "every_subcommand",
            },
        ),
        (
            "AWS_ENDPOINT_URL",
            Proof::HonouredBy {
                file: "serve.rs",
                test: "serve_answers_from_cost_explorer_through_the_cache_and_the_budget",
            },
        ),
    ]
}

/// The names in the first column of the README's configuration table.
fn readme_settings() -> BTreeSet<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("README has a Configuration section");
    let section = section.split("\n## ").next().unwrap();
    let mut names = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = row.split('|').nth(1).unwrap();
        for name in first_cell.split('`').skip(1).step_by(2) {
            names.insert(name.to_owned());
        }
    }
    assert!(names.len() > 20, "the table was not found: {names:?}");
    names
}

/// Runs `serve` with `env` in an empty working folder (its default data dir lands there) and
/// returns its exit status, stdout and stderr; fails if it is still running after 20 s.
fn run_serve(env: &[(&str, &str)], pass_addr: bool) -> (bool, String, String) {
    let cwd = std::env::temp_dir().join(format!(
        "settings-{}-{}",
        std::process::id(),
        shared::secret::random_id()
    ));
    std::fs::create_dir_all(&cwd).unwrap();
    let mut command = Command::new(common::BIN);
    command.arg("serve");
    if pass_addr {
        command.args(["--addr", "127.0.0.1:0"]);
    }
    let mut child = command
        .current_dir(&cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            let _ = std::fs::remove_dir_all(&cwd);
            panic!(
                "serve with {env:?} kept running: the setting was not refused\nstdout: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&cwd);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_readme_setting_is_honoured_or_refused_by_serve() {
    let proofs = proofs();
    let listed: BTreeSet<String> = proofs.iter().map(|(name, _)| (*name).to_owned()).collect();
    let documented = readme_settings();
    assert_eq!(
        documented.difference(&listed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "settings in the README's table that this test does not prove"
    );
    assert_eq!(
        listed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "settings proven here that the README's table does not list"
    );

    for (setting, proof) in &proofs {
        match proof {
            Proof::Refused { base, env, names } => {
                let mut vars: Vec<(&str, &str)> = base.to_vec();
                vars.push(*env);
                // SMCP_ADDR stands for --addr, which would override it.
                let (ok, stdout, stderr) = run_serve(&vars, *setting != "SMCP_ADDR");
                assert!(!ok, "{setting}={:?}: serve accepted it", env.1);
                assert!(
                    !stdout.contains("listening on"),
                    "{setting}: refused only after listening:\n{stdout}"
                );
                let errors: Vec<&str> =
                    stderr.lines().filter(|l| l.starts_with("error:")).collect();
                assert_eq!(
                    errors.len(),
                    1,
                    "{setting}: one error line expected:\n{stderr}"
                );
                assert!(
                    errors[0].contains(names),
                    "{setting}: the error does not name {names}: {}",
                    errors[0]
                );
            }
            Proof::HonouredBy { file, test } => {
                let source =
                    std::fs::read_to_string(format!("{}/tests/{file}", env!("CARGO_MANIFEST_DIR")))
                        .unwrap();
                assert!(
                    source.contains(&format!("fn {test}(")),
                    "{setting}: no test {test} in tests/{file}"
                );
                assert!(
                    source.contains(setting),
                    "{setting}: tests/{file} does not set it"
                );
            }
        }
    }
}
