//! `serverless-mcp check-config`: each function's start-up validation run on the environment,
//! here for the scopes (`SMCP_SCOPES`): the authorization server takes any well-formed
//! catalogue (it may front any MCP server), the Cost Explorer function needs its own scopes in
//! it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_serverless-mcp");

/// `check-config --function <function>` with `scopes` as `SMCP_SCOPES`: success, stdout, stderr.
fn check(function: &str, scopes: &str) -> (bool, String, String) {
    let data_dir = std::env::temp_dir().join(format!("check-config-{}", std::process::id()));
    let output = Command::new(BIN)
        .args(["check-config", "--function", function])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SMCP_ISSUER", "https://auth.example.com")
        .env("SMCP_RESOURCE", "https://mcp.example.com/mcp")
        .env("SMCP_DATA_DIR", &data_dir)
        .env("SMCP_SCOPES", scopes)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_scopes_are_checked_for_each_function() {
    let (ok, stdout, stderr) = check("authz", "files:read files:write");
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "configuration ok");

    let (ok, _, stderr) = check("mcp", "files:read files:write");
    assert!(
        !ok,
        "the Cost Explorer function accepted scopes without its own"
    );
    assert!(
        stderr.contains("SMCP_SCOPES: the server declares the scopes costs:read costs:resources"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = check("mcp", "costs:read,costs:resources,reports:read");
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "configuration ok");

    for function in ["authz", "mcp"] {
        let (ok, _, stderr) = check(function, "costs:read costs:read");
        assert!(!ok, "{function}: a repeated scope was accepted");
        assert!(
            stderr.contains("SMCP_SCOPES: \"costs:read\" is listed twice"),
            "{stderr}"
        );
    }
}
