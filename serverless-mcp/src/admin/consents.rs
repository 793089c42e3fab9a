//! `admin consents`: the remembered consents, a user's "allow" for a client that skips the
//! consent page at their next sign-in with it. Revoking one makes the page show again; it
//! does not end grants already made (revoke those with `admin grants revoke`).

use clap::Subcommand;
use serde_json::{Value, json};
use shared::audit::AuditEvent;
use shared::store::ConsentRecord;

use super::filter::Order;
use super::prompt::Danger;
use super::{Ctx, Failure, help, pages, when};

#[derive(Debug, Subcommand)]
pub enum ConsentsCommand {
    /// A user's remembered consents, newest first.
    #[command(after_help = help::CONSENTS_LIST)]
    List {
        /// The user (`sub`).
        #[arg(long)]
        user: String,
        /// Only the consent given to this client.
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
    },
    /// Forget a user's consent for one client, or (without --client) all of the user's.
    #[command(after_help = help::CONSENTS_REVOKE)]
    Revoke {
        /// The user (`sub`).
        #[arg(long)]
        user: String,
        /// Only the consent given to this client.
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
        /// Without --client: asks first on a terminal, needs --yes elsewhere.
        #[command(flatten)]
        danger: Danger,
    },
}

/// Runs one `admin consents` command.
pub async fn run(ctx: &Ctx, command: ConsentsCommand) -> Result<(), Failure> {
    match command {
        ConsentsCommand::List { user, client } => {
            let consents = selected(ctx, &user, client.as_deref()).await?;
            show(ctx, &consents);
            Ok(())
        }
        ConsentsCommand::Revoke {
            user,
            client,
            danger,
        } => {
            let consents = selected(ctx, &user, client.as_deref()).await?;
            if let Some(client) = &client
                && consents.is_empty()
            {
                return Err(Failure::NotFound(format!(
                    "user {user:?} has no consent for client {client:?}"
                )));
            }
            let action = match &client {
                Some(client) => format!("forget the consent of user {user} for client {client}"),
                None => format!("forget the {} consent(s) of user {user}", consents.len()),
            };
            if danger.dry_run {
                show(ctx, &consents);
                eprintln!("dry run: would {action}; nothing changed");
                return Ok(());
            }
            if client.is_none() {
                danger.confirm(&action)?;
            }
            let forgotten = forget(ctx, &consents).await?;
            let event = AuditEvent::admin_consents_revoked(
                &ctx.origin(),
                &user,
                client.as_deref(),
                forgotten,
            );
            ctx.record(event).await?;
            let clients: Vec<&str> = consents.iter().map(|c| c.client_id.as_str()).collect();
            ctx.out.done(
                &format!(
                    "forgot {forgotten} consent(s) of user {user}; the consent page shows again \
                     at their next sign-in with {}",
                    if clients.len() == 1 {
                        "that client"
                    } else {
                        "those clients"
                    }
                ),
                &json!({"user": user, "consents_revoked": clients}),
            );
            Ok(())
        }
    }
}

/// The user's consents (of one client, if given), newest first.
async fn selected(
    ctx: &Ctx,
    sub: &str,
    client: Option<&str>,
) -> Result<Vec<ConsentRecord>, Failure> {
    let mut consents = of_user(ctx, sub).await?;
    consents.retain(|c| client.is_none_or(|id| c.client_id == id));
    Ok(consents)
}

/// Every consent of the user, newest first.
pub async fn of_user(ctx: &Ctx, sub: &str) -> Result<Vec<ConsentRecord>, Failure> {
    let (mut consents, _) = pages::collect(
        "consents read:",
        Order { oldest_first: true },
        None,
        None,
        async |request| {
            ctx.stores
                .consents
                .list_for_user(sub, request)
                .await
                .map_err(|e| ctx.store_failure(e))
        },
        |_| true,
    )
    .await?;
    // Stored by client id: order by when they were given.
    consents.sort_by_key(|c| std::cmp::Reverse(c.granted_at));
    Ok(consents)
}

/// Deletes these consents; how many were still there.
pub async fn forget(ctx: &Ctx, consents: &[ConsentRecord]) -> Result<usize, Failure> {
    let mut forgotten = 0;
    for consent in consents {
        let deleted = ctx
            .stores
            .consents
            .delete(&consent.sub, consent.client_id.as_str())
            .await
            .map_err(|e| ctx.store_failure(e))?;
        forgotten += usize::from(deleted);
    }
    Ok(forgotten)
}

/// Consents as the output format has them.
pub fn show(ctx: &Ctx, consents: &[ConsentRecord]) {
    let rows: Vec<Vec<String>> = consents
        .iter()
        .map(|c| {
            vec![
                c.sub.clone(),
                c.client_id.to_string(),
                c.scope.to_string(),
                when::time(c.granted_at),
            ]
        })
        .collect();
    let records: Vec<Value> = consents
        .iter()
        .map(|c| {
            json!({
                "sub": c.sub,
                "client_id": c.client_id,
                "scope": c.scope,
                "granted_at": c.granted_at,
            })
        })
        .collect();
    ctx.out.list(
        "no consents",
        &["USER", "CLIENT", "SCOPE", "GRANTED"],
        &rows,
        &records,
    );
}
