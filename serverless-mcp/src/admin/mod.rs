//! `admin`: the operator's view of the store `serve` or the Lambdas use — clients, grants,
//! users of the embedded login, the audit trail and the signing key — and the ways to cut any
//! client or user off. Every change is itself written to the audit trail (`admin.*`, source
//! `cli`). Exit codes: 0 done, 1 failed (or not confirmed), 2 usage (clap, or a destructive
//! command without `--yes` when standard input is not a terminal), 3 no such client, grant or
//! user.

mod audit;
mod clients;
mod consents;
mod filter;
mod grants;
mod help;
mod keys;
mod output;
mod pages;
mod prompt;
mod users;
mod when;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use shared::audit::{AuditEvent, Origin};
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, StoreConfig, env, keys as settings};
use shared::store::{StoreError, Stores};

use self::output::{Format, Output};

/// The help shown under `serverless-mcp admin --help`.
pub const HELP: &str = help::ADMIN;

/// The operator's commands over the store.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The store: `sqlite:PATH` or `dynamodb:TABLE` [default: SMCP_STORE/SMCP_TABLE, else the
    /// SQLite store in the data dir].
    #[arg(long, global = true, value_name = "sqlite:PATH|dynamodb:TABLE", value_parser = parse_store)]
    store: Option<StoreConfig>,
    /// Folder of the embedded store and signing key, as `serve` takes it.
    #[arg(long, global = true, env = settings::DATA_DIR, default_value = ".data")]
    data_dir: PathBuf,
    /// How results are printed: a table on a terminal, JSON lines through a pipe (`auto`).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SMCP_ADMIN_FORMAT",
        default_value = "auto"
    )]
    format: Format,
    /// One JSON object per line (same as `--format json`).
    #[arg(long, global = true, conflicts_with = "csv")]
    json: bool,
    /// Comma-separated values with a header line (same as `--format csv`).
    #[arg(long, global = true)]
    csv: bool,
    /// Who is acting, recorded in the audit event of every change.
    #[arg(long, global = true, env = "USER", hide_env_values = true)]
    operator: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Registered clients: list, inspect, disable, enable, delete.
    #[command(subcommand, after_help = help::CLIENTS)]
    Clients(clients::ClientsCommand),
    /// Refresh-token grants: list by user or client, revoke.
    #[command(subcommand, after_help = help::GRANTS)]
    Grants(grants::GrantsCommand),
    /// Remembered consents (a user's "allow" for a client): list, revoke.
    #[command(subcommand, after_help = help::CONSENTS)]
    Consents(consents::ConsentsCommand),
    /// The audit trail (90 days): the latest events, or a search.
    #[command(subcommand, after_help = help::AUDIT)]
    Audit(audit::AuditCommand),
    /// Users of the embedded login: add, list, passwords, groups, disable, delete.
    #[command(subcommand, after_help = help::USERS)]
    Users(users::UsersCommand),
    /// The token signing key.
    #[command(subcommand, after_help = help::KEYS)]
    Keys(keys::KeysCommand),
    /// Create the DynamoDB table (keys, GSI1, TTL) if it does not exist, or the SQLite file.
    #[command(after_help = help::INIT_TABLE)]
    InitTable,
}

/// Why an admin command failed; decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// The named client, grant or user does not exist (exit 3).
    NotFound(String),
    /// Anything else: an unreachable store, a refused or unconfirmed change (exit 1).
    Failed(String),
    /// The command cannot run as given, e.g. a destructive one without `--yes` when there is
    /// no terminal to ask on (exit 2, as clap's usage errors).
    Usage(String),
}

impl Failure {
    /// The process exit code for this failure (documented at the top of this module).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotFound(_) => 3,
            Self::Failed(_) => 1,
            Self::Usage(_) => 2,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(m) | Self::Failed(m) | Self::Usage(m) => f.write_str(m),
        }
    }
}

/// What every subcommand works with.
pub(crate) struct Ctx {
    pub stores: Stores,
    pub out: Output,
    pub config: Config,
    /// The AWS configuration the store uses, for KMS too.
    pub aws: shared::aws::Aws,
    operator: Option<String>,
    /// The store as the operator named it, for error messages.
    label: String,
}

impl Ctx {
    /// Now, in epoch seconds.
    pub fn now(&self) -> i64 {
        SystemClock.now()
    }

    /// Now, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        SystemClock.now_ms()
    }

    /// A store failure in words an operator can act on.
    pub fn store_failure(&self, error: StoreError) -> Failure {
        store_failure(&self.label, &error)
    }

    /// Where the events of this run come from: the command line, now, by the operator.
    pub fn origin(&self) -> Origin {
        Origin::cli(
            self.now_ms(),
            format!("serverless-mcp/{} admin", env!("CARGO_PKG_VERSION")),
            self.operator.clone(),
        )
    }

    /// Writes the audit event of an admin action (built from [`Self::origin`]).
    pub async fn record(&self, event: AuditEvent) -> Result<(), Failure> {
        self.stores.audit.append(&event).await.map_err(|e| {
            Failure::Failed(format!(
                "the change was made, but its audit event was not written: {}",
                self.store_failure(e)
            ))
        })
    }
}

fn store_failure(label: &str, error: &StoreError) -> Failure {
    let text = error.to_string();
    let hint = if text.contains("ResourceNotFoundException") {
        " (no such table? create it with `serverless-mcp admin init-table --store dynamodb:TABLE`)"
    } else if text.contains("could not be sent")
        || text.contains("network")
        || text.contains("timed out")
    {
        " (is the endpoint reachable? check AWS_ENDPOINT_URL, AWS_REGION and credentials)"
    } else {
        ""
    };
    Failure::Failed(format!("store {label}: {text}{hint}"))
}

fn parse_store(raw: &str) -> Result<StoreConfig, String> {
    match raw.split_once(':') {
        Some(("sqlite", path)) if !path.is_empty() => Ok(StoreConfig::Sqlite {
            path: PathBuf::from(path),
        }),
        Some(("dynamodb", table)) if !table.is_empty() => {
            let valid = (3..=255).contains(&table.len())
                && table
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if valid {
                Ok(StoreConfig::Dynamo {
                    table: table.to_owned(),
                })
            } else {
                Err(format!("{table:?} is not a DynamoDB table name"))
            }
        }
        _ => Err("expected sqlite:PATH or dynamodb:TABLE".into()),
    }
}

fn describe(store: &StoreConfig) -> String {
    match store {
        StoreConfig::Sqlite { path } => format!("sqlite:{}", path.display()),
        StoreConfig::Dynamo { table } => format!("dynamodb:{table}"),
    }
}

/// The settings `serve` would use, with `--store` and `--data-dir` over the environment.
/// Issuer and resource do not matter here; placeholders keep validation uniform.
fn config(args: &AdminArgs) -> Result<Config, Failure> {
    let data_dir = args.data_dir.display().to_string();
    let mut config = Config::from_lookup(|key| match key {
        settings::DATA_DIR => Some(data_dir.clone()),
        settings::ISSUER => env::var(key).or(Some("http://127.0.0.1".into())),
        settings::RESOURCE => env::var(key).or(Some("http://127.0.0.1/mcp".into())),
        _ => env::var(key),
    })
    .map_err(|e| Failure::Failed(e.to_string()))?;
    if let Some(store) = &args.store {
        config.store = store.clone();
    }
    Ok(config)
}

/// Runs one admin command against the configured store.
pub async fn run(args: AdminArgs) -> Result<(), Failure> {
    let config = config(&args)?;
    let label = describe(&config.store);
    // One AWS configuration for the table and KMS, resolved when first needed.
    let aws = shared::aws::Aws::from_env();
    // Only these may bring a store into being; the others report a missing one.
    let creates = matches!(
        args.command,
        AdminCommand::InitTable | AdminCommand::Users(users::UsersCommand::Add { .. })
    );
    if let StoreConfig::Sqlite { path } = &config.store
        && !creates
        && !path.is_file()
    {
        return Err(Failure::Failed(format!(
            "store {label}: no such file (start `serve` once with this data dir, or pass \
             --data-dir DIR or --store sqlite:PATH|dynamodb:TABLE)"
        )));
    }
    if let (AdminCommand::InitTable, StoreConfig::Dynamo { table }) = (&args.command, &config.store)
    {
        let backend = shared::store::dynamo::DynamoBackend::from_sdk_config(aws.sdk().await, table);
        backend
            .create_table()
            .await
            .map_err(|e| store_failure(&label, &e))?;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = shared::store::connect(&config.store, clock, &aws)
        .await
        .map_err(|e| store_failure(&label, &e))?;
    let format = match (args.json, args.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Csv,
        _ => args.format,
    };
    let ctx = Ctx {
        stores,
        out: Output::new(format),
        config,
        aws,
        operator: args.operator.filter(|o| !o.is_empty()),
        label,
    };
    match args.command {
        AdminCommand::Clients(command) => clients::run(&ctx, command).await,
        AdminCommand::Grants(command) => grants::run(&ctx, command).await,
        AdminCommand::Consents(command) => consents::run(&ctx, command).await,
        AdminCommand::Audit(command) => audit::run(&ctx, command).await,
        AdminCommand::Users(command) => users::run(&ctx, command).await,
        AdminCommand::Keys(command) => keys::run(&ctx, command).await,
        AdminCommand::InitTable => {
            ctx.record(AuditEvent::admin_table_created(&ctx.origin(), &ctx.label))
                .await?;
            ctx.out.done(
                &format!("store {} is ready", ctx.label),
                &serde_json::json!({"store": ctx.label, "ready": true}),
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_flags_parse() {
        assert_eq!(
            parse_store("sqlite:/tmp/x.db"),
            Ok(StoreConfig::Sqlite {
                path: "/tmp/x.db".into()
            })
        );
        assert_eq!(
            parse_store("dynamodb:smcp-prod"),
            Ok(StoreConfig::Dynamo {
                table: "smcp-prod".into()
            })
        );
        for bad in ["sqlite:", "dynamodb:", "dynamodb:a b", "postgres:x", "x"] {
            assert!(parse_store(bad).is_err(), "{bad}");
        }
    }
}
