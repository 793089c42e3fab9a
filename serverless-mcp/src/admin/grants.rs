//! `admin grants`: refresh-token grants by user or by client, and their revocation. A revoked
//! grant's refresh tokens fail at once (`invalid_grant`), and so do the access tokens issued from
//! it (the store's revocation list, which the MCP server reads with every request); revoking a
//! user's or a client's grants revokes every access token issued to them until now.

use clap::{ArgGroup, Subcommand};
use serde_json::{Value, json};
use shared::audit::AuditEvent;
use shared::store::{GrantRecord, GrantStatus, PageRequest, Revoked};
use shared::token::REVOCATION_HORIZON_SECS;

use std::collections::HashMap;

use super::confirm::{Go, Guard};
use super::output::{self, Progress};
use super::{Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// A user's or a client's grants, oldest first.
    #[command(group(ArgGroup::new("owner").required(true).args(["user", "client"])))]
    List {
        /// The user (`sub`).
        #[arg(long)]
        user: Option<String>,
        /// The client id.
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
        /// Only grants that still work.
        #[arg(long)]
        active: bool,
        /// At most this many grants (then prints the --after cursor for the next page).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this cursor.
        #[arg(long)]
        after: Option<String>,
    },
    /// Revoke one grant, or every grant of a user or of a client (asked first).
    #[command(group(ArgGroup::new("target").required(true).args(["grant_id", "user", "client"])))]
    #[command(
        after_help = "Examples:\n  serverless-mcp admin grants revoke GRANT_ID\n  \
        serverless-mcp admin grants revoke --user alice --dry-run\n  \
        serverless-mcp admin grants revoke --client CLIENT_ID --yes"
    )]
    Revoke {
        grant_id: Option<String>,
        /// Every grant of this user (`sub`).
        #[arg(long)]
        user: Option<String>,
        /// Every grant of this client.
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
        /// Asked of the bulk forms (--user, --client) only.
        #[command(flatten)]
        guard: Guard,
    },
}

pub async fn run(ctx: &Ctx, command: GrantsCommand) -> Result<(), Failure> {
    match command {
        GrantsCommand::List {
            user,
            client,
            active,
            limit,
            after,
        } => {
            let mut progress = Progress::new("grants read:");
            let mut grants = Vec::new();
            let mut request = PageRequest { after, limit: 0 };
            let next = loop {
                let want = limit.map_or(500, |l| l.saturating_sub(grants.len()));
                if want == 0 {
                    break request.after;
                }
                request.limit = want.min(500);
                let page = match (&user, &client) {
                    (Some(user), _) => ctx.stores.grants.list_for_user(user, &request).await,
                    (None, Some(client)) => {
                        ctx.stores.grants.list_for_client(client, &request).await
                    }
                    (None, None) => return Err(Failure::Failed("give --user or --client".into())),
                }
                .map_err(|e| ctx.store_failure(e))?;
                grants.extend(
                    page.items
                        .into_iter()
                        .filter(|g| !active || g.status == GrantStatus::Active),
                );
                progress.update(grants.len(), "");
                match page.next {
                    Some(next) => request.after = Some(next),
                    None => break None,
                }
            };
            progress.finish();
            show(ctx, &grants).await;
            output::more(next.as_ref());
            Ok(())
        }
        GrantsCommand::Revoke {
            grant_id: Some(grant_id),
            ..
        } => revoke_one(ctx, &grant_id).await,
        GrantsCommand::Revoke {
            user: Some(user),
            guard,
            ..
        } => {
            let active = active_for_user(ctx, &user).await?;
            let what = format!(
                "revoke the {} active grant(s) of user {} and refuse their access tokens",
                active.len(),
                super::users::who(ctx, &user).await
            );
            if guard.check(&what)? == Go::DryRun {
                show_dry_run(ctx, &active);
                return Ok(());
            }
            revoke_access_tokens(ctx, Revoked::User(&user)).await?;
            let revoked = ctx
                .stores
                .grants
                .revoke_all_for_user(&user)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            report_bulk(ctx, "user", &user, None, Some(&user), &revoked).await
        }
        GrantsCommand::Revoke {
            client: Some(client),
            guard,
            ..
        } => {
            let active = active_for_client(ctx, &client).await?;
            let what = format!(
                "revoke the {} active grant(s) of client {client} and refuse its access tokens",
                active.len()
            );
            if guard.check(&what)? == Go::DryRun {
                show_dry_run(ctx, &active);
                return Ok(());
            }
            revoke_access_tokens(ctx, Revoked::Client(&client)).await?;
            let revoked = ctx
                .stores
                .grants
                .revoke_all_for_client(&client)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            report_bulk(ctx, "client", &client, Some(&client), None, &revoked).await
        }
        GrantsCommand::Revoke { .. } => Err(Failure::Failed(
            "give a grant id, --user or --client".into(),
        )),
    }
}

async fn revoke_one(ctx: &Ctx, grant_id: &str) -> Result<(), Failure> {
    let grant = ctx
        .stores
        .grants
        .get(grant_id)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| Failure::NotFound(format!("no grant {grant_id:?}")))?;
    // Revoking the grant revokes its access tokens in the same store step.
    let revoked = ctx
        .stores
        .grants
        .revoke(grant_id)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    if revoked {
        let origin = ctx.origin();
        let event = AuditEvent::admin_grant_revoked(
            &origin,
            grant.client_id.as_str(),
            &grant.sub,
            grant_id,
        );
        ctx.record(event).await?;
    }
    let human = if revoked {
        format!(
            "revoked grant {grant_id} (user {}, client {}); its access tokens are refused",
            grant.sub, grant.client_id
        )
    } else {
        format!("grant {grant_id} was already revoked; its access tokens are refused")
    };
    ctx.out.done(
        &human,
        &json!({
            "grant_id": grant_id,
            "revoked": revoked,
            "already_revoked": !revoked,
            "access_tokens_revoked": true,
        }),
    );
    Ok(())
}

/// Reports (and audits) the revocation of every grant of a user or client, whose access tokens
/// issued until now were revoked with them.
pub async fn report_bulk(
    ctx: &Ctx,
    by: &str,
    who: &str,
    client_id: Option<&str>,
    sub: Option<&str>,
    revoked: &[GrantRecord],
) -> Result<(), Failure> {
    let ids: Vec<&str> = revoked.iter().map(|g| g.grant_id.as_str()).collect();
    let event = AuditEvent::admin_grants_revoked(&ctx.origin(), client_id, sub, ids.len());
    ctx.record(event).await?;
    ctx.out.done(
        &format!(
            "revoked {} grant(s) of {by} {who}; every access token issued to the {by} until now \
             is refused",
            ids.len()
        ),
        &json!({by: who, "grants_revoked": ids, "access_tokens_revoked": true}),
    );
    Ok(())
}

/// Revokes, at the MCP server, every access token `what` names that was issued until now (the
/// entry is kept until the last of them has expired).
pub async fn revoke_access_tokens(ctx: &Ctx, what: Revoked<'_>) -> Result<(), Failure> {
    ctx.stores
        .revocations
        .revoke(what, ctx.now().saturating_add(REVOCATION_HORIZON_SECS))
        .await
        .map_err(|e| ctx.store_failure(e))
}

/// Every active grant of a user (all pages).
pub async fn active_for_user(ctx: &Ctx, sub: &str) -> Result<Vec<GrantRecord>, Failure> {
    let mut active = Vec::new();
    let mut request = PageRequest::first(1000);
    loop {
        let page = ctx
            .stores
            .grants
            .list_for_user(sub, &request)
            .await
            .map_err(|e| ctx.store_failure(e))?;
        active.extend(
            page.items
                .into_iter()
                .filter(|g| g.status == GrantStatus::Active),
        );
        match page.next {
            Some(next) => request.after = Some(next),
            None => return Ok(active),
        }
    }
}

/// Every active grant of a client (all pages).
pub async fn active_for_client(ctx: &Ctx, client_id: &str) -> Result<Vec<GrantRecord>, Failure> {
    let mut active = Vec::new();
    let mut request = PageRequest::first(1000);
    loop {
        let page = ctx
            .stores
            .grants
            .list_for_client(client_id, &request)
            .await
            .map_err(|e| ctx.store_failure(e))?;
        active.extend(
            page.items
                .into_iter()
                .filter(|g| g.status == GrantStatus::Active),
        );
        match page.next {
            Some(next) => request.after = Some(next),
            None => return Ok(active),
        }
    }
}

/// What `--dry-run` shows: the grants that would be revoked.
pub fn show_dry_run(ctx: &Ctx, grants: &[GrantRecord]) {
    let ids: Vec<&str> = grants.iter().map(|g| g.grant_id.as_str()).collect();
    let human = if ids.is_empty() {
        "no active grants would be revoked".to_owned()
    } else {
        ids.iter()
            .map(|id| format!("would revoke grant {id}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    ctx.out
        .done(&human, &json!({"dry_run": true, "grants": ids}));
}

/// Who each grant's user is, as operators know them ([`super::users::describe`]), by `sub`.
pub async fn names(ctx: &Ctx, grants: &[GrantRecord]) -> HashMap<String, String> {
    let subs: Vec<String> = grants.iter().map(|g| g.sub.clone()).collect();
    let profiles = ctx
        .stores
        .profiles
        .get_many(&subs)
        .await
        .unwrap_or_default();
    subs.into_iter()
        .map(|sub| {
            let name = profiles
                .get(&sub)
                .map_or_else(|| sub.clone(), |p| super::users::describe(&sub, p));
            (sub, name)
        })
        .collect()
}

/// Grants as JSON lines or a table.
pub async fn show(ctx: &Ctx, grants: &[GrantRecord]) {
    if ctx.out.json {
        for grant in grants {
            ctx.out.json_line(&listed(grant));
        }
        return;
    }
    if grants.is_empty() {
        println!("no grants");
        return;
    }
    ctx.out.table(
        &[
            "GRANT_ID", "USER", "CLIENT", "STATUS", "SCOPE", "CREATED", "ROTATED", "EXPIRES",
        ],
        &rows(grants, &names(ctx, grants).await),
    );
}

/// Table rows of `grants`, each user shown as `names` has them.
pub fn rows(grants: &[GrantRecord], names: &HashMap<String, String>) -> Vec<Vec<String>> {
    grants
        .iter()
        .map(|g| {
            vec![
                g.grant_id.clone(),
                names.get(&g.sub).cloned().unwrap_or_else(|| g.sub.clone()),
                g.client_id.to_string(),
                status(g.status).to_owned(),
                g.scope.to_string(),
                output::time(g.created_at),
                output::time_opt(g.rotated_at, "never"),
                output::time_opt(g.expires_at, "never"),
            ]
        })
        .collect()
}

/// A grant without its refresh-token hashes (of no use to an operator).
pub fn listed(grant: &GrantRecord) -> Value {
    json!({
        "grant_id": grant.grant_id,
        "sub": grant.sub,
        "client_id": grant.client_id,
        "status": status(grant.status),
        "scope": grant.scope,
        "resource": grant.resource,
        "groups": grant.groups,
        "version": grant.version,
        "created_at": grant.created_at,
        "rotated_at": grant.rotated_at,
        "expires_at": grant.expires_at,
    })
}

fn status(status: GrantStatus) -> &'static str {
    match status {
        GrantStatus::Active => "active",
        GrantStatus::Revoked => "revoked",
    }
}
