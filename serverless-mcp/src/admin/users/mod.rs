//! `admin users`: the users of the embedded login. Adding and listing them here; changing and
//! removing them (password, groups, disable, delete) in `change.rs`. Disabling or deleting a
//! user refuses their next login and refresh, revokes their grants and denies their recent
//! access tokens.

mod change;

use clap::Subcommand;
use serde_json::{Value, json};
use shared::audit::AuditEvent;
use shared::clock::{Clock, SystemClock};
use shared::store::{LoginUser, PageRequest};

use super::prompt::{self, Danger};
use super::{Ctx, Failure, help, output, when};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password (12 characters or more) is asked for at a hidden prompt, or
    /// read from standard input when that is not a terminal.
    #[command(after_help = help::USERS_ADD)]
    Add {
        /// The username, as given to `users add`.
        name: String,
        /// Groups the user belongs to (repeatable), used for account scoping.
        #[arg(long)]
        group: Vec<String>,
    },
    /// Every user, by name.
    #[command(after_help = help::USERS_LIST)]
    List {
        /// At most this many users (then prints the --after cursor for the next page).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this cursor.
        #[arg(long)]
        after: Option<String>,
    },
    /// Set a user's password (hidden prompt, or standard input when that is not a terminal).
    #[command(after_help = help::USERS_PASSWD)]
    Passwd {
        /// The username, as given to `users add`.
        name: String,
    },
    /// Show a user's groups, or replace them (`--set`, repeatable; `--clear` for none).
    #[command(after_help = help::USERS_GROUPS)]
    Groups {
        /// The username, as given to `users add`.
        name: String,
        /// The groups the user is to have (repeatable); replaces the current ones.
        #[arg(long = "set", value_name = "GROUP")]
        set: Vec<String>,
        /// Remove the user from every group.
        #[arg(long, conflicts_with = "set")]
        clear: bool,
    },
    /// Refuse the user's logins and refreshes, revoke their grants, deny their access tokens.
    #[command(after_help = help::USERS_DISABLE)]
    Disable {
        /// The username, as given to `users add`.
        name: String,
        #[command(flatten)]
        danger: Danger,
    },
    /// Let a disabled user log in again (revoked grants stay revoked).
    #[command(after_help = help::USERS_ENABLE)]
    Enable {
        /// The username, as given to `users add`.
        name: String,
    },
    /// Remove the user: revoke their grants and access tokens, forget their consents, delete
    /// the login.
    #[command(after_help = help::USERS_DELETE)]
    Delete {
        /// The username, as given to `users add`.
        name: String,
        #[command(flatten)]
        danger: Danger,
    },
}

/// Runs one `admin users` command.
pub async fn run(ctx: &Ctx, command: UsersCommand) -> Result<(), Failure> {
    match command {
        UsersCommand::Add { name, group } => add(ctx, &name, group).await,
        UsersCommand::List { limit, after } => list(ctx, limit, after).await,
        UsersCommand::Passwd { name } => change::passwd(ctx, &name).await,
        UsersCommand::Groups { name, set, clear } => {
            let wanted = (clear || !set.is_empty()).then_some(set);
            change::groups(ctx, &name, wanted).await
        }
        UsersCommand::Disable { name, danger } => change::disable(ctx, &name, danger).await,
        UsersCommand::Enable { name } => change::enable(ctx, &name).await,
        UsersCommand::Delete { name, danger } => change::delete(ctx, &name, danger).await,
    }
}

async fn add(ctx: &Ctx, name: &str, groups: Vec<String>) -> Result<(), Failure> {
    let password = prompt::new_password(name)?;
    let user =
        authz::upstream::local::add_user(&ctx.stores, name, &password, groups, SystemClock.now())
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?;
    let event = AuditEvent::admin_user_added(&ctx.origin(), &user.sub, &user.groups);
    ctx.record(event).await?;
    ctx.out.done(
        &format!("added user {name}"),
        &json!({"added": name, "sub": user.sub, "groups": user.groups}),
    );
    Ok(())
}

async fn list(ctx: &Ctx, limit: Option<usize>, after: Option<String>) -> Result<(), Failure> {
    let mut progress = output::Progress::new("users read:");
    let mut users = Vec::new();
    let mut request = PageRequest { after, limit: 0 };
    let next = loop {
        let want = limit.map_or(500, |l| l.saturating_sub(users.len()));
        if want == 0 {
            break request.after;
        }
        request.limit = want.min(500);
        let page = ctx
            .stores
            .login_users
            .list(&request)
            .await
            .map_err(|e| ctx.store_failure(e))?;
        users.extend(page.items);
        progress.update(users.len(), "");
        match page.next {
            Some(next) => request.after = Some(next),
            None => break None,
        }
    };
    progress.finish();
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.username.clone(),
                if u.enabled { "enabled" } else { "disabled" }.to_owned(),
                when::time(u.created_at),
                groups_cell(&u.groups),
            ]
        })
        .collect();
    let records: Vec<Value> = users.iter().map(listed).collect();
    ctx.out.list(
        "no users",
        &["USERNAME", "STATUS", "CREATED", "GROUPS"],
        &rows,
        &records,
    );
    output::more(next.as_ref());
    Ok(())
}

/// A user without the password hash.
fn listed(user: &LoginUser) -> Value {
    json!({
        "username": user.username,
        "sub": user.sub,
        "groups": user.groups,
        "enabled": user.enabled,
        "created_at": user.created_at,
    })
}

/// Groups as a table cell: comma-separated, or `-` for none.
fn groups_cell(groups: &[String]) -> String {
    if groups.is_empty() {
        "-".to_owned()
    } else {
        groups.join(",")
    }
}

/// The user, or exit 3.
async fn get(ctx: &Ctx, name: &str) -> Result<LoginUser, Failure> {
    ctx.stores
        .login_users
        .get(name)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| not_found(name))
}

fn not_found(name: &str) -> Failure {
    Failure::NotFound(format!("no user {name:?}"))
}
