//! `admin users`: the users of the embedded login. Disabling or deleting a user refuses their
//! next login and refresh, revokes their grants and denies their recent access tokens.

use clap::Subcommand;
use serde_json::json;
use shared::audit::AuditEvent;
use shared::clock::{Clock, SystemClock};
use shared::secret::Secret;
use shared::store::{LoginUser, PageRequest, Revoked};

use super::confirm::{Go, Guard, read_password};
use super::grants::{self, revoke_access_tokens};
use super::output::{self, Progress};
use super::{Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; the password (12 characters or more) is asked on a terminal, or read from
    /// standard input.
    #[command(
        after_help = "Examples:\n  serverless-mcp admin users add alice --group finance\n  \
        printf '%s' 'a long password' | serverless-mcp admin users add bob"
    )]
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
    /// Set a user's password (asked on a terminal, or read from standard input); their grants
    /// stay.
    Passwd { name: String },
    /// Show a user's groups, or set them (the next login or refresh carries them).
    #[command(
        after_help = "Examples:\n  serverless-mcp admin users groups alice\n  \
        serverless-mcp admin users groups alice --set finance --set ops\n  \
        serverless-mcp admin users groups alice --clear"
    )]
    Groups {
        name: String,
        /// The new groups (repeatable), replacing the old ones.
        #[arg(long = "set", conflicts_with = "clear")]
        set: Vec<String>,
        /// Remove every group.
        #[arg(long)]
        clear: bool,
    },
    /// Refuse the user's logins and refreshes, revoke their grants, deny their access tokens.
    Disable {
        name: String,
        #[command(flatten)]
        guard: Guard,
    },
    /// Let a disabled user log in again (revoked grants stay revoked).
    Enable { name: String },
    /// Delete the user, revoking their grants and denying their access tokens.
    Delete {
        name: String,
        #[command(flatten)]
        guard: Guard,
    },
}

pub async fn run(ctx: &Ctx, command: UsersCommand) -> Result<(), Failure> {
    match command {
        UsersCommand::Add { name, group } => {
            let password = Secret::new(read_password()?);
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
        UsersCommand::Passwd { name } => {
            let user = existing(ctx, &name).await?;
            let password = Secret::new(read_password()?);
            authz::upstream::local::set_password(&ctx.stores, &user.username, &password)
                .await
                .map_err(|e| Failure::Failed(e.to_string()))?;
            ctx.record(AuditEvent::admin_user_password_set(
                &ctx.origin(),
                &user.sub,
            ))
            .await?;
            ctx.out.done(
                &format!("set the password of {name}"),
                &json!({"password_set": name}),
            );
            Ok(())
        }
        UsersCommand::Groups { name, set, clear } => {
            let user = existing(ctx, &name).await?;
            if set.is_empty() && !clear {
                ctx.out.done(
                    &format!(
                        "{name}: {}",
                        if user.groups.is_empty() {
                            "no groups".to_owned()
                        } else {
                            user.groups.join(", ")
                        }
                    ),
                    &json!({"username": name, "groups": user.groups}),
                );
                return Ok(());
            }
            let updated = LoginUser {
                groups: set,
                ..user
            };
            if !ctx
                .stores
                .login_users
                .update(&updated)
                .await
                .map_err(|e| ctx.store_failure(e))?
            {
                return Err(Failure::NotFound(format!("no user {name:?}")));
            }
            let event =
                AuditEvent::admin_user_groups_set(&ctx.origin(), &updated.sub, &updated.groups);
            ctx.record(event).await?;
            ctx.out.done(
                &format!(
                    "set the groups of {name}: {} (carried from the next login or refresh)",
                    if updated.groups.is_empty() {
                        "none".to_owned()
                    } else {
                        updated.groups.join(", ")
                    }
                ),
                &json!({"username": name, "groups": updated.groups}),
            );
            Ok(())
        }
        UsersCommand::Disable { name, guard } => {
            let user = existing(ctx, &name).await?;
            if ask(ctx, &user, "disable", guard).await? == Go::DryRun {
                return Ok(());
            }
            let user = set_enabled(ctx, &name, false).await?;
            let revoked = cut_off(ctx, &user.sub).await?;
            let event = AuditEvent::admin_user_disabled(&ctx.origin(), &user.sub, revoked.len());
            ctx.record(event).await?;
            ctx.out.done(
                &format!(
                    "disabled user {name}: {} grant(s) revoked, their access tokens are refused",
                    revoked.len()
                ),
                &json!({"disabled": name, "grants_revoked": revoked, "access_tokens_revoked": true}),
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
        UsersCommand::Delete { name, guard } => {
            let user = existing(ctx, &name).await?;
            if ask(ctx, &user, "delete", guard).await? == Go::DryRun {
                return Ok(());
            }
            // Cut off first: a failure then leaves the user disabled in effect, never a user
            // gone whose tokens still work.
            let revoked = cut_off(ctx, &user.sub).await?;
            ctx.stores
                .login_users
                .delete(&name)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            let event = AuditEvent::admin_user_deleted(&ctx.origin(), &user.sub, revoked.len());
            ctx.record(event).await?;
            ctx.out.done(
                &format!(
                    "deleted user {name}: {} grant(s) revoked, their access tokens are refused",
                    revoked.len()
                ),
                &json!({"deleted": name, "grants_revoked": revoked, "access_tokens_revoked": true}),
            );
            Ok(())
        }
    }
}

async fn existing(ctx: &Ctx, name: &str) -> Result<LoginUser, Failure> {
    ctx.stores
        .login_users
        .get(name)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| Failure::NotFound(format!("no user {name:?}")))
}

/// Revokes every access token issued to `sub` until now and every grant; the revoked grant ids.
async fn cut_off(ctx: &Ctx, sub: &str) -> Result<Vec<String>, Failure> {
    revoke_access_tokens(ctx, Revoked::User(sub)).await?;
    let revoked = ctx
        .stores
        .grants
        .revoke_all_for_user(sub)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    Ok(revoked.into_iter().map(|g| g.grant_id).collect())
}

/// Asks before cutting `user` off, naming the active grants that would be revoked.
async fn ask(ctx: &Ctx, user: &LoginUser, verb: &str, guard: Guard) -> Result<Go, Failure> {
    let active = grants::active_for_user(ctx, &user.sub).await?;
    let what = format!(
        "{verb} user {} and revoke their {} active grant(s)",
        user.username,
        active.len()
    );
    let go = guard.check(&what)?;
    if go == Go::DryRun {
        grants::show_dry_run(ctx, &active);
    }
    Ok(go)
}

/// How operators know a user: the username and email their latest sign-in gave, and the `sub`
/// (just the `sub` when no sign-in was recorded).
pub async fn who(ctx: &Ctx, sub: &str) -> String {
    match ctx.stores.profiles.get_many(&[sub.to_owned()]).await {
        Ok(found) => match found.get(sub) {
            Some(profile) => describe(sub, profile),
            None => sub.to_owned(),
        },
        Err(_) => sub.to_owned(),
    }
}

/// `alice <alice@example.com> (sub)`, leaving out what the profile lacks, and the `sub` when it
/// is the username (the embedded login).
pub fn describe(sub: &str, profile: &shared::store::UserProfile) -> String {
    let name = profile.username.as_deref().unwrap_or(sub);
    let mut shown = name.to_owned();
    if let Some(email) = &profile.email {
        shown.push_str(&format!(" <{email}>"));
    }
    if name != sub {
        shown.push_str(&format!(" ({sub})"));
    }
    shown
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
