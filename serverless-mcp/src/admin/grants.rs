//! `admin grants`: refresh-token grants by user or by client, and their revocation. A revoked
//! grant's refresh tokens fail at once (`invalid_grant`), and so do the access tokens issued from
//! it (the store's revocation list, which the MCP server reads with every request); revoking a
//! user's or a client's grants revokes every access token issued to them until now.

use std::collections::HashMap;

use clap::{ArgGroup, Subcommand};
use serde_json::{Value, json};
use shared::audit::AuditEvent;
use shared::store::{GrantRecord, GrantStatus, PageRequest, Revoked};
use shared::token::REVOCATION_HORIZON_SECS;

use super::filter::Order;
use super::prompt::Danger;
use super::{Ctx, Failure, help, output, pages, when};

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// A user's or a client's grants, newest first.
    #[command(
        group(ArgGroup::new("owner").required(true).args(["user", "client"])),
        after_help = help::GRANTS_LIST
    )]
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
        #[command(flatten)]
        order: Order,
        /// At most this many grants (oldest first: then prints the --after cursor).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this cursor (with --oldest-first).
        #[arg(long, requires = "oldest_first")]
        after: Option<String>,
    },
    /// Revoke one grant, or every grant of a user or of a client.
    #[command(
        group(ArgGroup::new("target").required(true).args(["grant_id", "user", "client"])),
        after_help = help::GRANTS_REVOKE
    )]
    Revoke {
        /// The grant id (as `grants list` shows it).
        grant_id: Option<String>,
        /// Every grant of this user (`sub`).
        #[arg(long)]
        user: Option<String>,
        /// Every grant of this client.
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
        /// With --user or --client: asks first on a terminal, needs --yes elsewhere. A single
        /// grant is revoked without asking (--dry-run still only shows it).
        #[command(flatten)]
        danger: Danger,
    },
}

/// Whose grants.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// A user (`sub`).
    User(&'a str),
    /// A client id.
    Client(&'a str),
}

impl Owner<'_> {
    fn noun(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Client(_) => "client",
        }
    }

    fn id(&self) -> &str {
        match self {
            Self::User(id) | Self::Client(id) => id,
        }
    }

    async fn page(
        &self,
        ctx: &Ctx,
        request: &PageRequest,
    ) -> Result<shared::store::Page<GrantRecord>, Failure> {
        match self {
            Self::User(sub) => ctx.stores.grants.list_for_user(sub, request).await,
            Self::Client(id) => ctx.stores.grants.list_for_client(id, request).await,
        }
        .map_err(|e| ctx.store_failure(e))
    }
}

/// Runs one `admin grants` command.
pub async fn run(ctx: &Ctx, command: GrantsCommand) -> Result<(), Failure> {
    match command {
        GrantsCommand::List {
            user,
            client,
            active,
            order,
            limit,
            after,
        } => {
            let owner = match (&user, &client) {
                (Some(user), _) => Owner::User(user),
                (None, Some(client)) => Owner::Client(client),
                (None, None) => return Err(Failure::Usage("give --user or --client".into())),
            };
            let (grants, next) = pages::collect(
                "grants read:",
                order,
                limit,
                after,
                async |request| owner.page(ctx, request).await,
                |g: &GrantRecord| !active || g.status == GrantStatus::Active,
            )
            .await?;
            show(ctx, &grants).await;
            output::more(next.as_ref());
            Ok(())
        }
        GrantsCommand::Revoke {
            grant_id: Some(grant_id),
            danger,
            ..
        } => revoke_one(ctx, &grant_id, danger.dry_run).await,
        GrantsCommand::Revoke {
            user,
            client,
            danger,
            ..
        } => {
            let owner = match (&user, &client) {
                (Some(user), _) => Owner::User(user),
                (None, Some(client)) => Owner::Client(client),
                (None, None) => {
                    return Err(Failure::Usage("give a grant id, --user or --client".into()));
                }
            };
            revoke_all(ctx, owner, danger).await
        }
    }
}

/// Every grant of a user or client: listed (`--dry-run`), or after confirmation revoked with
/// every access token issued to them until now.
async fn revoke_all(ctx: &Ctx, owner: Owner<'_>, danger: Danger) -> Result<(), Failure> {
    let active = active(ctx, owner).await?;
    let (by, who) = (owner.noun(), owner.id());
    let action = format!(
        "revoke the {} active grant(s) of {by} {who} and refuse its access tokens",
        active.len()
    );
    if danger.dry_run {
        dry_run(ctx, &action, &active).await;
        return Ok(());
    }
    danger.confirm(&action)?;
    let revoked = match owner {
        Owner::User(sub) => {
            revoke_access_tokens(ctx, Revoked::User(sub)).await?;
            ctx.stores.grants.revoke_all_for_user(sub).await
        }
        Owner::Client(id) => {
            revoke_access_tokens(ctx, Revoked::Client(id)).await?;
            ctx.stores.grants.revoke_all_for_client(id).await
        }
    }
    .map_err(|e| ctx.store_failure(e))?;
    let ids: Vec<&str> = revoked.iter().map(|g| g.grant_id.as_str()).collect();
    let (client_id, sub) = match owner {
        Owner::User(sub) => (None, Some(sub)),
        Owner::Client(id) => (Some(id), None),
    };
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

/// The active grants of a user or client, all of them, newest first.
pub async fn active(ctx: &Ctx, owner: Owner<'_>) -> Result<Vec<GrantRecord>, Failure> {
    let (grants, _) = pages::collect(
        "grants read:",
        Order::default(),
        None,
        None,
        async |request| owner.page(ctx, request).await,
        |g: &GrantRecord| g.status == GrantStatus::Active,
    )
    .await?;
    Ok(grants)
}

/// `--dry-run`: the grants `action` would revoke, and on standard error that nothing changed.
pub async fn dry_run(ctx: &Ctx, action: &str, grants: &[GrantRecord]) {
    show(ctx, grants).await;
    eprintln!("dry run: would {action}; nothing changed");
}

/// One grant (not asked about: it is one user's sign-in with one client, quickly redone), or
/// with `only_show` (`--dry-run`) only shown.
async fn revoke_one(ctx: &Ctx, grant_id: &str, only_show: bool) -> Result<(), Failure> {
    let grant = ctx
        .stores
        .grants
        .get(grant_id)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| Failure::NotFound(format!("no grant {grant_id:?}")))?;
    if only_show {
        dry_run(ctx, &format!("revoke grant {grant_id}"), &[grant]).await;
        return Ok(());
    }
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

/// Revokes, at the MCP server, every access token `what` names that was issued until now (the
/// entry is kept until the last of them has expired).
pub async fn revoke_access_tokens(ctx: &Ctx, what: Revoked<'_>) -> Result<(), Failure> {
    ctx.stores
        .revocations
        .revoke(what, ctx.now().saturating_add(REVOCATION_HORIZON_SECS))
        .await
        .map_err(|e| ctx.store_failure(e))
}

/// The columns of a grants table.
pub const HEADERS: &[&str] = &[
    "GRANT_ID", "USER", "CLIENT", "STATUS", "SCOPE", "CREATED", "ROTATED", "EXPIRES",
];

/// Grants as the output format has them.
pub async fn show(ctx: &Ctx, grants: &[GrantRecord]) {
    let records: Vec<Value> = grants.iter().map(listed).collect();
    let rows = rows(grants, &names(ctx, grants).await);
    ctx.out.list("no grants", HEADERS, &rows, &records);
}

/// How operators know each grant's user, by `sub`: the username and email of their latest
/// sign-in (`alice <alice@example.com> (sub)`; the `sub` alone when the username is the `sub`
/// and no email is known, or no sign-in was recorded). One batched read.
pub async fn names(ctx: &Ctx, grants: &[GrantRecord]) -> HashMap<String, String> {
    let subs: Vec<String> = grants.iter().map(|g| g.sub.clone()).collect();
    // Names are a courtesy: a failed read shows the `sub`s.
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
                .map_or_else(|| sub.clone(), |p| describe(&sub, p));
            (sub, name)
        })
        .collect()
}

/// `alice <alice@example.com> (sub)`, leaving out what the profile lacks, and the `sub` when it
/// is the username (the embedded login).
fn describe(sub: &str, profile: &shared::store::UserProfile) -> String {
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

/// Table rows of grants, each user shown as `names` has them.
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
                when::time(g.created_at),
                when::time_opt(g.rotated_at, "never"),
                when::time_opt(g.expires_at, "never"),
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
