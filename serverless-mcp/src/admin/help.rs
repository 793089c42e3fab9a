//! The examples under each admin command's `--help`, in the operator's words, each ending with
//! where the settings are explained (the README's Configuration table).

/// One help text: the lines given, then the pointer to the settings table.
macro_rules! help {
    ($($line:literal),* $(,)?) => {
        concat!(
            $($line, "\n",)*
            "\nSettings (SMCP_STORE, SMCP_TABLE, SMCP_DATA_DIR, SMCP_ADMIN_FORMAT, AWS_*): see the\n",
            "table under \"Configuration\" in README.md; the admin commands under \"Admin\"."
        )
    };
}

/// `admin` itself.
pub const ADMIN: &str = help!(
    "Output: a table on a terminal, JSON lines through a pipe; --csv for CSV, --format to choose.",
    "Destructive commands ask first; --yes skips the question, --dry-run shows what would change.",
    "Exit codes: 0 done, 1 failed or not confirmed, 2 usage, 3 no such client, grant or user.",
    "",
    "Examples:",
    "  serverless-mcp admin clients list --since 24h",
    "  serverless-mcp admin --store dynamodb:smcp-prod audit tail -n 50",
);

pub const CLIENTS: &str = help!(
    "Examples:",
    "  serverless-mcp admin clients list --from 203.0.113.0/24 --name claude",
    "  serverless-mcp admin clients show 79VjsbmaBiGQ6ytu_66g4g",
    "  serverless-mcp admin clients disable 79VjsbmaBiGQ6ytu_66g4g --reason 'lost laptop'",
);
pub const CLIENTS_LIST: &str = help!(
    "Shows who registered, from which address and software, and when each client was last used.",
    "",
    "Examples:",
    "  serverless-mcp admin clients list --since 7d --never-used",
    "  serverless-mcp admin clients list --from 203.0.113.7 --user-agent curl",
    "  serverless-mcp admin clients list --oldest-first --limit 100 --csv > clients.csv",
);
pub const CLIENTS_SHOW: &str = help!(
    "Everything known about one client: what it registered, from where, its grants and events.",
    "",
    "Example:",
    "  serverless-mcp admin clients show 79VjsbmaBiGQ6ytu_66g4g",
);
pub const CLIENTS_DISABLE: &str = help!(
    "The client can no longer sign anyone in or refresh; its users' tokens stop working now.",
    "",
    "Example:",
    "  serverless-mcp admin clients disable 79VjsbmaBiGQ6ytu_66g4g --reason 'lost laptop'",
);
pub const CLIENTS_ENABLE: &str = help!(
    "Example:",
    "  serverless-mcp admin clients enable 79VjsbmaBiGQ6ytu_66g4g",
);
pub const CLIENTS_ADD: &str = help!(
    "For closed registration (SMCP_REGISTRATION=closed) or clients you pre-register: the client",
    "never expires; a confidential client's secret is printed once (only its hash is kept).",
    "",
    "Examples:",
    "  serverless-mcp admin clients add --name \"Team dashboard\" \\",
    "      --redirect-uri https://dash.example.com/oauth/callback --auth basic",
    "  serverless-mcp admin clients add --name \"Desktop app\" --redirect-uri http://127.0.0.1/cb",
    "  serverless-mcp admin clients add --name \"Tools server\" \\",
    "      --resource-server https://tools.example.com/mcp",
);
pub const CLIENTS_DELETE: &str = help!(
    "As disable, then the registration is removed (the client must register again).",
    "",
    "Examples:",
    "  serverless-mcp admin clients delete 79VjsbmaBiGQ6ytu_66g4g --dry-run",
    "  serverless-mcp admin clients delete 79VjsbmaBiGQ6ytu_66g4g --yes --reason 'spam'",
);

pub const GRANTS: &str = help!(
    "A grant is one user's sign-in with one client; revoking it ends its refresh and access tokens.",
    "",
    "Examples:",
    "  serverless-mcp admin grants list --user alice --active",
    "  serverless-mcp admin grants revoke --client 79VjsbmaBiGQ6ytu_66g4g --dry-run",
);
pub const GRANTS_LIST: &str = help!(
    "Examples:",
    "  serverless-mcp admin grants list --user alice --active",
    "  serverless-mcp admin grants list --client 79VjsbmaBiGQ6ytu_66g4g --json",
);
pub const GRANTS_REVOKE: &str = help!(
    "Refresh tokens fail at once, and the MCP server refuses the access tokens issued from them.",
    "",
    "Examples:",
    "  serverless-mcp admin grants revoke 2ed60b05455f9bab4137e13796a29bde",
    "  serverless-mcp admin grants revoke --user alice --dry-run",
    "  serverless-mcp admin grants revoke --client 79VjsbmaBiGQ6ytu_66g4g --yes",
);

pub const CONSENTS: &str = help!(
    "A consent is a user's remembered \"allow\" for a client; forgetting it shows the consent",
    "page again at their next sign-in with that client (grants already made stay: revoke them",
    "with `admin grants revoke`).",
    "",
    "Examples:",
    "  serverless-mcp admin consents list --user alice",
    "  serverless-mcp admin consents revoke --user alice --client 79VjsbmaBiGQ6ytu_66g4g",
);
pub const CONSENTS_LIST: &str = help!(
    "Example:",
    "  serverless-mcp admin consents list --user alice",
);
pub const CONSENTS_REVOKE: &str = help!(
    "Examples:",
    "  serverless-mcp admin consents revoke --user alice --client 79VjsbmaBiGQ6ytu_66g4g",
    "  serverless-mcp admin consents revoke --user alice --yes",
);

pub const AUDIT: &str = help!(
    "Every sign-in, token, registration and admin change is kept for 90 days.",
    "",
    "Examples:",
    "  serverless-mcp admin audit tail -n 50 --type 'admin.*'",
    "  serverless-mcp admin audit search --from 203.0.113.0/24 --since 2026-01-01 --until 2026-01-02",
);
pub const AUDIT_TAIL: &str = help!(
    "Examples:",
    "  serverless-mcp admin audit tail",
    "  serverless-mcp admin audit tail -n 5 --user alice --type 'login*'",
);
pub const AUDIT_SEARCH: &str = help!(
    "Times: 2026-01-01, 2026-01-01T10:00, 2026-01-01T10:00:00Z (UTC), or an age: 90m, 24h, 7d, 2w.",
    "",
    "Examples:",
    "  serverless-mcp admin audit search --client 79VjsbmaBiGQ6ytu_66g4g --since 7d",
    "  serverless-mcp admin audit search --user-agent python --type login.failed --csv",
);

pub const USERS: &str = help!(
    "Users of the embedded login page (SMCP_LOGIN=embedded).",
    "",
    "Examples:",
    "  serverless-mcp admin users add alice --group finance",
    "  serverless-mcp admin users groups alice --set finance --set ops",
    "  serverless-mcp admin users delete bob --dry-run",
);
pub const USERS_ADD: &str = help!(
    "Examples:",
    "  serverless-mcp admin users add alice --group finance      (asks for the password)",
    "  printf '%s' \"$PASSWORD\" | serverless-mcp admin users add alice",
);
pub const USERS_LIST: &str = help!("Example:", "  serverless-mcp admin users list",);
pub const USERS_PASSWD: &str = help!(
    "Existing sign-ins keep working; the new password is needed at the next login.",
    "",
    "Examples:",
    "  serverless-mcp admin users passwd alice      (asks twice, hidden)",
    "  printf '%s' \"$PASSWORD\" | serverless-mcp admin users passwd alice",
);
pub const USERS_GROUPS: &str = help!(
    "Groups decide which accounts' costs a user sees (SMCP_ACCOUNT_SCOPES); a change applies",
    "at the user's next login or token refresh.",
    "",
    "Examples:",
    "  serverless-mcp admin users groups alice",
    "  serverless-mcp admin users groups alice --set finance --set ops",
    "  serverless-mcp admin users groups alice --clear",
);
pub const USERS_DISABLE: &str = help!(
    "Examples:",
    "  serverless-mcp admin users disable alice --dry-run",
    "  serverless-mcp admin users disable alice --yes",
);
pub const USERS_ENABLE: &str = help!("Example:", "  serverless-mcp admin users enable alice",);
pub const USERS_DELETE: &str = help!(
    "Examples:",
    "  serverless-mcp admin users delete bob --dry-run",
    "  serverless-mcp admin users delete bob --yes",
);

pub const KEYS: &str = help!("Example:", "  serverless-mcp admin keys rotate",);
pub const KEYS_ROTATE: &str = help!(
    "Tokens signed with the old key keep verifying until they expire (at most an hour).",
    "",
    "Examples:",
    "  serverless-mcp admin keys rotate",
    "  serverless-mcp admin keys rotate --force      (a second rotation within the hour)",
);

pub const INIT_TABLE: &str = help!(
    "Example:",
    "  serverless-mcp admin init-table --store dynamodb:smcp-prod",
);
