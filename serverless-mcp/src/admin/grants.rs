//! `admin grants`: refresh-token grants by user or by client, and their revocation. A revoked
//! grant's refresh tokens fail at once (`invalid_grant`); the access tokens issued from it in
//! the last hour (found by `jti` in the audit trail) go on the denylist the MCP server checks.

use clap::{ArgGroup, Subcommand};
use serde_json::{Map, Value, json};
use shared::store::{AuditQuery, GrantRecord, GrantStatus, PageRequest};

use super::output::{self, Progress};
use super::{Ctx, Failure};

/// Access tokens live at most this long (`SMCP_ACCESS_TOKEN_TTL` is capped at one hour).
const MAX_ACCESS_TOKEN_SECS: i64 = 3600;
/// Leeway for clock differences between the servers and this command.
const LEEWAY_SECS: i64 = 120;

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
    /// Revoke one grant, or every grant of a user or of a client.
    #[command(group(ArgGroup::new("target").required(true).args(["grant_id", "user", "client"])))]
    Revoke {
        grant_id: Option<String>,
        /// Every grant of this user (`sub`).
        #[arg(long)]
        user: Option<String>,
        /// Every grant of this client.
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
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
            show(ctx, &grants);
            output::more(next.as_ref());
            Ok(())
        }
        GrantsCommand::Revoke {
            grant_id: Some(grant_id),
            ..
        } => revoke_one(ctx, &grant_id).await,
        GrantsCommand::Revoke {
            user: Some(user), ..
        } => {
            let revoked = ctx
                .stores
                .grants
                .revoke_all_for_user(&user)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            let denied = deny_recent_tokens(ctx, None, Some(&user), None).await?;
            report_bulk(ctx, "user", &user, None, Some(&user), &revoked, denied).await
        }
        GrantsCommand::Revoke {
            client: Some(client),
            ..
        } => {
            let revoked = ctx
                .stores
                .grants
                .revoke_all_for_client(&client)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            let denied = deny_recent_tokens(ctx, Some(&client), None, None).await?;
            report_bulk(
                ctx,
                "client",
                &client,
                Some(&client),
                None,
                &revoked,
                denied,
            )
            .await
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
    let revoked = ctx
        .stores
        .grants
        .revoke(grant_id)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    let denied =
        deny_recent_tokens(ctx, Some(&grant.client_id), Some(&grant.sub), Some(&grant)).await?;
    if revoked {
        let mut detail = Map::new();
        detail.insert("grant_id".into(), Value::from(grant_id));
        detail.insert("access_tokens_denied".into(), Value::from(denied));
        ctx.record(
            "admin.grant.revoked",
            Some(&grant.client_id),
            Some(&grant.sub),
            detail,
        )
        .await?;
    }
    let human = if revoked {
        format!(
            "revoked grant {grant_id} (user {}, client {}); {denied} access token(s) denied",
            grant.sub, grant.client_id
        )
    } else {
        format!("grant {grant_id} was already revoked; {denied} access token(s) denied")
    };
    ctx.out.done(
        &human,
        &json!({
            "grant_id": grant_id,
            "revoked": revoked,
            "already_revoked": !revoked,
            "access_tokens_denied": denied,
        }),
    );
    Ok(())
}

/// Reports (and audits) the revocation of every grant of a user or client.
pub async fn report_bulk(
    ctx: &Ctx,
    by: &str,
    who: &str,
    client_id: Option<&str>,
    sub: Option<&str>,
    revoked: &[GrantRecord],
    denied: usize,
) -> Result<(), Failure> {
    let ids: Vec<&str> = revoked.iter().map(|g| g.grant_id.as_str()).collect();
    let mut detail = Map::new();
    detail.insert("grants_revoked".into(), Value::from(ids.len()));
    detail.insert("access_tokens_denied".into(), Value::from(denied));
    ctx.record("admin.grants.revoked", client_id, sub, detail)
        .await?;
    ctx.out.done(
        &format!(
            "revoked {} grant(s) of {by} {who}; {denied} access token(s) denied",
            ids.len()
        ),
        &json!({by: who, "grants_revoked": ids, "access_tokens_denied": denied}),
    );
    Ok(())
}

/// Puts on the denylist every access token the audit trail shows was issued in the last hour
/// to `client_id` and/or `sub` (and, given a grant, from that grant), until it expires. Returns
/// how many were newly denied (tokens already on the denylist are not counted).
pub async fn deny_recent_tokens(
    ctx: &Ctx,
    client_id: Option<&str>,
    sub: Option<&str>,
    grant: Option<&GrantRecord>,
) -> Result<usize, Failure> {
    let since = ctx.now() - MAX_ACCESS_TOKEN_SECS - LEEWAY_SECS;
    let query = AuditQuery {
        kind: Some("token.*".into()),
        client_id: client_id.map(str::to_owned),
        sub: sub.map(str::to_owned),
        since_ms: Some(since.saturating_mul(1000)),
        until_ms: None,
    };
    let mut request = PageRequest::first(1000);
    let mut denied = 0;
    loop {
        let page = ctx
            .stores
            .audit
            .search(&query, &request)
            .await
            .map_err(|e| ctx.store_failure(e))?;
        for event in &page.items {
            let Some(jti) = event.detail.get("jti").and_then(Value::as_str) else {
                continue;
            };
            if let Some(grant) = grant {
                // Code exchanges and refreshes both record the grant the token belongs to.
                let issued_with_it = event.detail.get("grant_id").and_then(Value::as_str)
                    == Some(grant.grant_id.as_str());
                if !issued_with_it {
                    continue;
                }
            }
            let already = ctx
                .stores
                .denylist
                .is_denied(jti)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            if already {
                continue;
            }
            let expires = event
                .at_ms
                .div_euclid(1000)
                .saturating_add(MAX_ACCESS_TOKEN_SECS + LEEWAY_SECS);
            ctx.stores
                .denylist
                .deny(jti, expires)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            denied += 1;
        }
        match page.next {
            Some(next) => request.after = Some(next),
            None => return Ok(denied),
        }
    }
}

/// Grants as JSON lines or a table.
pub fn show(ctx: &Ctx, grants: &[GrantRecord]) {
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
        &rows(grants),
    );
}

pub fn rows(grants: &[GrantRecord]) -> Vec<Vec<String>> {
    grants
        .iter()
        .map(|g| {
            vec![
                g.grant_id.clone(),
                g.sub.clone(),
                g.client_id.clone(),
                status(g.status).to_owned(),
                g.scope.clone(),
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
