//! `admin clients`: who registered, from where, when last used, who granted them access, and
//! the ways to cut a client off (disable, delete), each revoking the client's grants at once.
//! Listing and filtering are in `list.rs`, one client's page in `show.rs`.

mod add;
mod list;
mod show;

use clap::Subcommand;
use serde_json::json;
use shared::audit::AuditEvent;
use shared::store::{ClientRecord, ClientStatus, Revoked};

use super::grants::{self, Owner, revoke_access_tokens};
use super::help;
use super::prompt::Danger;
use super::{Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Registered clients, newest first, with where they registered from and their last use.
    #[command(after_help = help::CLIENTS_LIST)]
    List(list::ListArgs),
    /// One client: metadata, where it registered from, last use, active grants, recent events.
    #[command(after_help = help::CLIENTS_SHOW)]
    Show {
        /// The client id (taken as given, even when it starts with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Add a client yourself (static): prints its id, and a confidential client's secret once.
    #[command(after_help = help::CLIENTS_ADD)]
    Add(add::AddArgs),
    /// Refuse the client at /authorize and /token, revoke its grants, deny its access tokens.
    #[command(after_help = help::CLIENTS_DISABLE)]
    Disable {
        /// The client id (taken as given, even when it starts with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Why, recorded in the audit event.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Accept a disabled client again (grants revoked when it was disabled stay revoked).
    #[command(after_help = help::CLIENTS_ENABLE)]
    Enable {
        /// The client id (taken as given, even when it starts with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Delete the registration, revoking its grants and denying its access tokens.
    #[command(after_help = help::CLIENTS_DELETE)]
    Delete {
        /// The client id (taken as given, even when it starts with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Why, recorded in the audit event.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        danger: Danger,
    },
}

/// Runs one `admin clients` command.
pub async fn run(ctx: &Ctx, command: ClientsCommand) -> Result<(), Failure> {
    match command {
        ClientsCommand::List(args) => list::run(ctx, args).await,
        ClientsCommand::Show { client_id } => show::run(ctx, &client_id).await,
        ClientsCommand::Add(args) => add::add(ctx, args).await,
        ClientsCommand::Disable { client_id, reason } => {
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
            danger,
        } => {
            let client = get(ctx, &client_id).await?;
            let active = grants::active(ctx, Owner::Client(&client_id)).await?;
            let action = format!(
                "delete client {client_id} and revoke its {} active grant(s)",
                active.len()
            );
            if danger.dry_run {
                grants::dry_run(ctx, &action, &active).await;
                return Ok(());
            }
            danger.confirm(&action)?;
            cut_off(ctx, &client, true, reason).await
        }
    }
}

/// The client, or exit 3.
async fn get(ctx: &Ctx, client_id: &str) -> Result<ClientRecord, Failure> {
    ctx.stores
        .clients
        .get(client_id)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| not_found(client_id))
}

fn not_found(client_id: &str) -> Failure {
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
