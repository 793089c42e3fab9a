//! `admin clients`: who registered, from where, when last used, who granted them access, and
//! the ways to cut a client off (disable, delete), each revoking the client's grants at once.

mod add;
mod list;

use clap::Subcommand;
use serde_json::json;
use shared::audit::AuditEvent;
use shared::store::{ClientRecord, ClientStatus, GrantStatus, PageRequest, Revoked};

use super::confirm::{Go, Guard};
use super::grants::revoke_access_tokens;
use super::{Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Registered clients, oldest first; filters narrow the list.
    #[command(
        after_help = "Examples:\n  serverless-mcp admin clients list --since 7d --kind dcr\n  \
        serverless-mcp admin clients list --from 203.0.113.0/24 --never-used"
    )]
    List(list::ListArgs),
    /// One client: metadata, where it registered from, last use, active grants, recent events.
    Show {
        /// Client ids may start with `-`: they are taken as given.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Add a client yourself (for closed registration, SMCP_REGISTRATION=closed); prints its
    /// id, and a confidential client's secret once.
    #[command(
        after_help = "Example:\n  serverless-mcp admin clients add --name \"Team dashboard\" \\\n    \
        --redirect-uri https://dash.example.com/oauth/callback --auth basic"
    )]
    Add(add::AddArgs),
    /// Refuse the client at /authorize and /token, revoke its grants, deny its access tokens.
    Disable {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Why, recorded in the audit event.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        guard: Guard,
    },
    /// Accept a disabled client again (grants revoked when it was disabled stay revoked).
    Enable {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Delete the registration, revoking its grants and denying its access tokens.
    Delete {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Why, recorded in the audit event.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        guard: Guard,
    },
}

pub async fn run(ctx: &Ctx, command: ClientsCommand) -> Result<(), Failure> {
    match command {
        ClientsCommand::List(args) => list::list(ctx, args).await,
        ClientsCommand::Show { client_id } => list::show(ctx, &client_id).await,
        ClientsCommand::Add(args) => add::add(ctx, args).await,
        ClientsCommand::Disable {
            client_id,
            reason,
            guard,
        } => {
            let client = existing(ctx, &client_id).await?;
            if confirm(ctx, &client, "disable", guard).await? == Go::DryRun {
                return Ok(());
            }
            let client = ctx
                .stores
                .clients
                .set_status(&client_id, ClientStatus::Disabled)
                .await
                .map_err(|e| ctx.store_failure(e))?
                .ok_or_else(|| not_found(&client_id))?;
            cut_off(ctx, &client, false, reason).await
        }
        ClientsCommand::Enable { client_id } => {
            ctx.stores
                .clients
                .set_status(&client_id, ClientStatus::Active)
                .await
                .map_err(|e| ctx.store_failure(e))?
                .ok_or_else(|| not_found(&client_id))?;
            ctx.record(AuditEvent::admin_client_enabled(&ctx.origin(), &client_id))
                .await?;
            ctx.out.done(
                &format!("enabled client {client_id}"),
                &json!({"client_id": client_id, "status": "active"}),
            );
            Ok(())
        }
        ClientsCommand::Delete {
            client_id,
            reason,
            guard,
        } => {
            let client = existing(ctx, &client_id).await?;
            if confirm(ctx, &client, "delete", guard).await? == Go::DryRun {
                return Ok(());
            }
            cut_off(ctx, &client, true, reason).await
        }
    }
}

async fn existing(ctx: &Ctx, client_id: &str) -> Result<ClientRecord, Failure> {
    ctx.stores
        .clients
        .get(client_id)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| not_found(client_id))
}

/// Asks before cutting `client` off, naming the active grants that would be revoked (listed
/// in full by `--dry-run`).
async fn confirm(
    ctx: &Ctx,
    client: &ClientRecord,
    verb: &str,
    guard: Guard,
) -> Result<Go, Failure> {
    let mut active = Vec::new();
    let mut request = PageRequest::first(1000);
    loop {
        let page = ctx
            .stores
            .grants
            .list_for_client(client.client_id.as_str(), &request)
            .await
            .map_err(|e| ctx.store_failure(e))?;
        active.extend(
            page.items
                .into_iter()
                .filter(|g| g.status == GrantStatus::Active)
                .map(|g| g.grant_id),
        );
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    let name = client.metadata.client_name.as_deref().unwrap_or("-");
    let what = format!(
        "{verb} client {} ({name}), revoke its {} active grant(s) and refuse its access tokens",
        client.client_id,
        active.len()
    );
    let go = guard.check(&what)?;
    if go == Go::DryRun {
        let human = if active.is_empty() {
            "no active grants would be revoked".to_owned()
        } else {
            active
                .iter()
                .map(|id| format!("would revoke grant {id}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        ctx.out.done(
            &human,
            &json!({"dry_run": true, "client_id": client.client_id, verb: true, "grants": active}),
        );
    }
    Ok(go)
}

pub(super) fn not_found(client_id: &str) -> Failure {
    Failure::NotFound(format!("no client {client_id:?}"))
}

/// Disabling or deleting: revoke every access token issued to the client until now and every
/// grant, then (deleting) remove the registration; audited as
/// [`AuditEvent::admin_client_cut_off`].
async fn cut_off(
    ctx: &Ctx,
    client: &ClientRecord,
    deleted: bool,
    reason: Option<String>,
) -> Result<(), Failure> {
    let client_id = client.client_id.as_str();
    revoke_access_tokens(ctx, Revoked::Client(client_id)).await?;
    let revoked = ctx
        .stores
        .grants
        .revoke_all_for_client(client_id)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    if deleted {
        ctx.stores
            .clients
            .delete(client_id)
            .await
            .map_err(|e| ctx.store_failure(e))?;
    }
    let ids: Vec<&str> = revoked.iter().map(|g| g.grant_id.as_str()).collect();
    let event = AuditEvent::admin_client_cut_off(
        &ctx.origin(),
        client_id,
        deleted,
        ids.len(),
        reason.as_deref(),
    );
    ctx.record(event).await?;
    let what = if deleted { "deleted" } else { "disabled" };
    ctx.out.done(
        &format!(
            "{what} client {client_id}: {} grant(s) revoked, its access tokens are refused",
            ids.len()
        ),
        &json!({"client_id": client_id, what: true, "grants_revoked": ids, "access_tokens_revoked": true}),
    );
    Ok(())
}
