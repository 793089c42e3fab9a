//! `admin`: list and revoke clients, grants and consents, and read the audit trail, against
//! the same store `serve` or the Lambdas use. Output is one JSON object per line.

use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::json;
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, keys};
use shared::store::{PageRequest, Stores};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Folder of the embedded store.
    #[arg(long, env = keys::DATA_DIR, default_value = ".data")]
    data_dir: std::path::PathBuf,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Registered clients.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Refresh-token grants.
    #[command(subcommand)]
    Grants(GrantsCommand),
    /// Users of the embedded login.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Audit events of one UTC day (yyyy-mm-dd) or of one client.
    Audit {
        #[arg(long, conflicts_with = "client", required_unless_present = "client")]
        day: Option<String>,
        #[arg(long)]
        client: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ClientsCommand {
    /// Every registered client, oldest first.
    List,
    /// One client's stored record (hashes included, secrets never stored).
    Show { client_id: String },
    /// Delete a client registration.
    Delete { client_id: String },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user; the password (at least 12 characters) is read from standard input.
    Add {
        name: String,
        /// Groups the user belongs to (repeatable), used for account scoping.
        #[arg(long)]
        group: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum GrantsCommand {
    /// A user's grants, oldest first.
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke a grant: its refresh tokens stop working.
    Revoke { grant_id: String },
}

pub async fn run(args: AdminArgs) -> Result<(), String> {
    let data_dir = args.data_dir.display().to_string();
    // Issuer and resource do not matter here; placeholders keep validation uniform.
    let config = Config::from_lookup(|key| match key {
        keys::DATA_DIR => Some(data_dir.clone()),
        keys::ISSUER => std::env::var(key).ok().or(Some("http://127.0.0.1".into())),
        keys::RESOURCE => std::env::var(key)
            .ok()
            .or(Some("http://127.0.0.1/mcp".into())),
        _ => std::env::var(key).ok(),
    })
    .map_err(|e| e.to_string())?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = shared::store::connect(&config.store, clock)
        .await
        .map_err(|e| format!("store: {e}"))?;
    execute(&stores, args.command).await
}

async fn execute(stores: &Stores, command: AdminCommand) -> Result<(), String> {
    let fail = |e: shared::store::StoreError| format!("store: {e}");
    match command {
        AdminCommand::Clients(ClientsCommand::List) => {
            let mut page = PageRequest::first(100);
            loop {
                let listed = stores.clients.list(&page).await.map_err(fail)?;
                for client in &listed.items {
                    print_json(client);
                }
                match listed.next {
                    Some(next) => page.after = Some(next),
                    None => return Ok(()),
                }
            }
        }
        AdminCommand::Clients(ClientsCommand::Show { client_id }) => {
            match stores.clients.get(&client_id).await.map_err(fail)? {
                Some(client) => {
                    print_json(&client);
                    Ok(())
                }
                None => Err(format!("no client {client_id:?}")),
            }
        }
        AdminCommand::Clients(ClientsCommand::Delete { client_id }) => {
            if stores.clients.delete(&client_id).await.map_err(fail)? {
                print_json(&json!({"deleted": client_id}));
                Ok(())
            } else {
                Err(format!("no client {client_id:?}"))
            }
        }
        AdminCommand::Grants(GrantsCommand::List { user }) => {
            let mut page = PageRequest::first(100);
            loop {
                let listed = stores
                    .grants
                    .list_for_user(&user, &page)
                    .await
                    .map_err(fail)?;
                for grant in &listed.items {
                    print_json(grant);
                }
                match listed.next {
                    Some(next) => page.after = Some(next),
                    None => return Ok(()),
                }
            }
        }
        AdminCommand::Grants(GrantsCommand::Revoke { grant_id }) => {
            if stores.grants.revoke(&grant_id).await.map_err(fail)? {
                print_json(&json!({"revoked": grant_id}));
                Ok(())
            } else {
                Err(format!("no active grant {grant_id:?}"))
            }
        }
        AdminCommand::Users(UsersCommand::Add { name, group }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|e| format!("reading the password from standard input: {}", e.kind()))?;
            let password = shared::secret::Secret::new(password.trim_end_matches(['\r', '\n']));
            authz::upstream::local::add_user(stores, &name, &password, group, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?;
            print_json(&json!({"added": name}));
            Ok(())
        }
        AdminCommand::Audit { day, client } => {
            let mut page = PageRequest::first(100);
            loop {
                let listed = match (&day, &client) {
                    (Some(day), _) => stores.audit.list_day(day, &page).await,
                    (None, Some(client)) => stores.audit.list_for_client(client, &page).await,
                    (None, None) => return Err("give --day or --client".into()),
                }
                .map_err(fail)?;
                for event in &listed.items {
                    print_json(event);
                }
                match listed.next {
                    Some(next) => page.after = Some(next),
                    None => return Ok(()),
                }
            }
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("error: cannot encode a record: {e}"),
    }
}
