//! `admin consents`: the approvals users gave clients, which let the client skip the consent
//! page next time (when the browser still holds its approval cookie) and are shown to operators.
//! Withdrawing one makes the user see the consent page for that client again; it does not revoke
//! the client's grants (`grants revoke --client` does).

use clap::Subcommand;
use serde_json::json;
use shared::audit::AuditEvent;
use shared::store::PageRequest;

use super::output;
use super::users::who;
use super::{Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum ConsentsCommand {
    /// A user's consents, by client.
    #[command(after_help = "Example:\n  serverless-mcp admin consents list --user alice")]
    List {
        /// The user (`sub`; for the embedded login, the username).
        #[arg(long)]
        user: String,
    },
    /// Withdraw a user's consent to a client: the consent page is shown again next time.
    #[command(
        after_help = "Example:\n  serverless-mcp admin consents revoke --user alice --client CLIENT_ID"
    )]
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long, allow_hyphen_values = true)]
        client: String,
    },
}

pub async fn run(ctx: &Ctx, command: ConsentsCommand) -> Result<(), Failure> {
    match command {
        ConsentsCommand::List { user } => {
            let mut consents = Vec::new();
            let mut request = PageRequest::first(500);
            loop {
                let page = ctx
                    .stores
                    .consents
                    .list_for_user(&user, &request)
                    .await
                    .map_err(|e| ctx.store_failure(e))?;
                consents.extend(page.items);
                match page.next {
                    Some(next) => request.after = Some(next),
                    None => break,
                }
            }
            if ctx.out.json {
                for consent in &consents {
                    ctx.out.json_line(&json!({
                        "sub": consent.sub,
                        "client_id": consent.client_id,
                        "scope": consent.scope,
                        "granted_at": consent.granted_at,
                    }));
                }
            } else if consents.is_empty() {
                println!("no consents for {}", who(ctx, &user).await);
            } else {
                println!("consents of {}", who(ctx, &user).await);
                let rows: Vec<Vec<String>> = consents
                    .iter()
                    .map(|c| {
                        vec![
                            c.client_id.to_string(),
                            c.scope.to_string(),
                            output::time(c.granted_at),
                        ]
                    })
                    .collect();
                ctx.out.table(&["CLIENT_ID", "SCOPE", "GRANTED"], &rows);
            }
            Ok(())
        }
        ConsentsCommand::Revoke { user, client } => {
            let removed = ctx
                .stores
                .consents
                .delete(&user, &client)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            if !removed {
                return Err(Failure::NotFound(format!(
                    "no consent of {user:?} to client {client:?}"
                )));
            }
            ctx.record(AuditEvent::admin_consent_revoked(
                &ctx.origin(),
                &user,
                &client,
            ))
            .await?;
            ctx.out.done(
                &format!("withdrew the consent of {user} to client {client}: the consent page is shown again"),
                &json!({"sub": user, "client_id": client, "consent_revoked": true}),
            );
            Ok(())
        }
    }
}
