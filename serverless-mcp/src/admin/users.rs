//! `admin users`: the users of the embedded login. Disabling a user refuses their next login
//! and refresh, revokes their grants and denies their recent access tokens.

use clap::Subcommand;
use serde_json::json;
use shared::audit::AuditEvent;
use shared::clock::{Clock, SystemClock};
use shared::secret::Secret;
use shared::store::{LoginUser, PageRequest, Revoked};

use super::grants::revoke_access_tokens;
use super::output::{self, Progress};
use super::{Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password (12 characters or more) is read from standard input.
    Add {
        name: String,
        /// Groups the user belongs to (repeatable), used for account scoping.
        #[arg(long)]
        group: Vec<String>,
    },
    /// Every user, by name.
    List {
        /// At most this many users (then prints the --after cursor for the next page).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this cursor.
        #[arg(long)]
        after: Option<String>,
    },
    /// Refuse the user's logins and refreshes, revoke their grants, deny their access tokens.
    Disable { name: String },
    /// Let a disabled user log in again (revoked grants stay revoked).
    Enable { name: String },
}

pub async fn run(ctx: &Ctx, command: UsersCommand) -> Result<(), Failure> {
    match command {
        UsersCommand::Add { name, group } => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).map_err(|e| {
                Failure::Failed(format!(
                    "reading the password from standard input: {}",
                    e.kind()
                ))
            })?;
            let password = Secret::new(password.trim_end_matches(['\r', '\n']));
            let user = authz::upstream::local::add_user(
                &ctx.stores,
                &name,
                &password,
                group,
                SystemClock.now(),
            )
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
        UsersCommand::List { limit, after } => list(ctx, limit, after).await,
        UsersCommand::Disable { name } => {
            let user = set_enabled(ctx, &name, false).await?;
            revoke_access_tokens(ctx, Revoked::User(&user.sub)).await?;
            let revoked = ctx
                .stores
                .grants
                .revoke_all_for_user(&user.sub)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            let event = AuditEvent::admin_user_disabled(&ctx.origin(), &user.sub, revoked.len());
            ctx.record(event).await?;
            let ids: Vec<&str> = revoked.iter().map(|g| g.grant_id.as_str()).collect();
            ctx.out.done(
                &format!(
                    "disabled user {name}: {} grant(s) revoked, their access tokens are refused",
                    ids.len()
                ),
                &json!({"disabled": name, "grants_revoked": ids, "access_tokens_revoked": true}),
            );
            Ok(())
        }
        UsersCommand::Enable { name } => {
            let user = set_enabled(ctx, &name, true).await?;
            ctx.record(AuditEvent::admin_user_enabled(&ctx.origin(), &user.sub))
                .await?;
            ctx.out
                .done(&format!("enabled user {name}"), &json!({"enabled": name}));
            Ok(())
        }
    }
}

async fn set_enabled(ctx: &Ctx, name: &str, enabled: bool) -> Result<LoginUser, Failure> {
    let user = ctx
        .stores
        .login_users
        .get(name)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| Failure::NotFound(format!("no user {name:?}")))?;
    let updated = LoginUser { enabled, ..user };
    let stored = ctx
        .stores
        .login_users
        .update(&updated)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    if stored {
        Ok(updated)
    } else {
        Err(Failure::NotFound(format!("no user {name:?}")))
    }
}

async fn list(ctx: &Ctx, limit: Option<usize>, after: Option<String>) -> Result<(), Failure> {
    let mut progress = Progress::new("users read:");
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
    if ctx.out.json {
        for user in &users {
            ctx.out.json_line(&json!({
                "username": user.username,
                "sub": user.sub,
                "groups": user.groups,
                "enabled": user.enabled,
                "created_at": user.created_at,
            }));
        }
    } else if users.is_empty() {
        println!("no users");
    } else {
        let rows: Vec<Vec<String>> = users
            .iter()
            .map(|u| {
                vec![
                    u.username.clone(),
                    if u.enabled { "enabled" } else { "disabled" }.to_owned(),
                    output::time(u.created_at),
                    if u.groups.is_empty() {
                        "-".to_owned()
                    } else {
                        u.groups.join(",")
                    },
                ]
            })
            .collect();
        ctx.out
            .table(&["USERNAME", "STATUS", "CREATED", "GROUPS"], &rows);
    }
    output::more(next.as_ref());
    Ok(())
}
