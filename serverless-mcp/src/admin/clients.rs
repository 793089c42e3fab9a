//! `admin clients`: who registered, from where, when last used, who granted them access, and
//! the ways to cut a client off (disable, delete), each revoking the client's grants at once.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use shared::audit::AuditEvent;
use shared::store::{
    AuditQuery, ClientKind, ClientRecord, ClientStatus, GrantRecord, GrantStatus, PageRequest,
    Revoked,
};

use super::grants::{self, revoke_access_tokens};
use super::output::{self, Progress};
use super::{Ctx, Failure, audit};

/// Recent audit events shown by `clients show`.
const RECENT_EVENTS: usize = 10;

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Registered clients, oldest first.
    List(ListArgs),
    /// One client: metadata, where it registered from, last use, active grants, recent events.
    Show {
        /// Client ids may start with `-`: they are taken as given.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Refuse the client at /authorize and /token, revoke its grants, deny its access tokens.
    Disable {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Why, recorded in the audit event.
        #[arg(long)]
        reason: Option<String>,
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
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Registered at or after this time (2026-01-01, 2026-01-01T10:00:00Z, or an age: 24h, 7d).
    #[arg(long, value_parser = output::parse_time)]
    since: Option<i64>,
    /// Only clients of this kind.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Only clients in this status.
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// Only clients that have never been used at the token endpoint.
    #[arg(long)]
    never_used: bool,
    /// At most this many clients (then prints the --after cursor for the next page).
    #[arg(long)]
    limit: Option<usize>,
    /// Continue after this cursor.
    #[arg(long)]
    after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Dcr,
    Cimd,
    Static,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatusArg {
    Active,
    Disabled,
    Revoked,
}

impl ListArgs {
    fn keeps(&self, client: &ClientRecord) -> bool {
        let kind_ok = self.kind.is_none_or(|k| {
            client.kind
                == match k {
                    KindArg::Dcr => ClientKind::Dcr,
                    KindArg::Cimd => ClientKind::Cimd,
                    KindArg::Static => ClientKind::Static,
                }
        });
        let status_ok = self.status.is_none_or(|s| {
            client.status
                == match s {
                    StatusArg::Active => ClientStatus::Active,
                    StatusArg::Disabled => ClientStatus::Disabled,
                    StatusArg::Revoked => ClientStatus::Revoked,
                }
        });
        kind_ok && status_ok && (!self.never_used || client.last_used_at.is_none())
    }
}

pub async fn run(ctx: &Ctx, command: ClientsCommand) -> Result<(), Failure> {
    match command {
        ClientsCommand::List(args) => list(ctx, args).await,
        ClientsCommand::Show { client_id } => show(ctx, &client_id).await,
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
        ClientsCommand::Delete { client_id, reason } => {
            let client = ctx
                .stores
                .clients
                .get(&client_id)
                .await
                .map_err(|e| ctx.store_failure(e))?
                .ok_or_else(|| not_found(&client_id))?;
            cut_off(ctx, &client, true, reason).await
        }
    }
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

async fn list(ctx: &Ctx, args: ListArgs) -> Result<(), Failure> {
    let mut progress = Progress::new("clients read:");
    let mut clients = Vec::new();
    let mut read = 0;
    let mut request = PageRequest {
        after: args.after.clone(),
        limit: 0,
    };
    let next = loop {
        let want = args.limit.map_or(500, |l| l.saturating_sub(clients.len()));
        if want == 0 {
            break request.after;
        }
        request.limit = want.min(500);
        let page = match args.since {
            Some(since) => ctx.stores.clients.list_since(since, &request).await,
            None => ctx.stores.clients.list(&request).await,
        }
        .map_err(|e| ctx.store_failure(e))?;
        read += page.items.len();
        clients.extend(page.items.into_iter().filter(|c| args.keeps(c)));
        progress.update(read, &format!("({} shown)", clients.len()));
        match page.next {
            Some(next) => request.after = Some(next),
            None => break None,
        }
    };
    progress.finish();
    if ctx.out.json {
        for client in &clients {
            ctx.out.json_line(&listed(client));
        }
    } else if clients.is_empty() {
        println!("no clients");
    } else {
        let rows: Vec<Vec<String>> = clients
            .iter()
            .map(|c| {
                vec![
                    c.client_id.to_string(),
                    kind(c.kind).to_owned(),
                    status(c.status).to_owned(),
                    c.metadata.client_name.clone().unwrap_or_else(|| "-".into()),
                    output::time(c.created_at),
                    c.created_ip.clone().unwrap_or_else(|| "-".into()),
                    output::time_opt(c.last_used_at, "never"),
                ]
            })
            .collect();
        ctx.out.table(
            &[
                "CLIENT_ID",
                "KIND",
                "STATUS",
                "NAME",
                "REGISTERED",
                "FROM",
                "LAST_USED",
            ],
            &rows,
        );
    }
    output::more(next.as_ref());
    Ok(())
}

async fn show(ctx: &Ctx, client_id: &str) -> Result<(), Failure> {
    let client = ctx
        .stores
        .clients
        .get(client_id)
        .await
        .map_err(|e| ctx.store_failure(e))?
        .ok_or_else(|| not_found(client_id))?;
    let mut active: Vec<GrantRecord> = Vec::new();
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
            None => break,
        }
    }
    let query = AuditQuery {
        client_id: Some(client_id.to_owned()),
        ..AuditQuery::default()
    };
    let events = audit::recent(ctx, &query, RECENT_EVENTS).await?;
    if ctx.out.json {
        let grants: Vec<Value> = active.iter().map(grants::listed).collect();
        ctx.out.json_line(&json!({
            "client": listed(&client),
            "active_grants": grants,
            "recent_events": events,
        }));
        return Ok(());
    }
    let m = &client.metadata;
    let fields = [
        ("client_id", client.client_id.to_string()),
        ("name", m.client_name.clone().unwrap_or_else(|| "-".into())),
        ("kind", kind(client.kind).to_owned()),
        ("status", status(client.status).to_owned()),
        ("registered", output::time(client.created_at)),
        (
            "from",
            client.created_ip.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "user agent",
            client
                .created_user_agent
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
        ("last used", output::time_opt(client.last_used_at, "never")),
        ("expires", output::time_opt(client.expires_at, "never")),
        (
            "redirect uris",
            m.redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            "auth method",
            m.token_endpoint_auth_method.as_str().to_owned(),
        ),
        (
            "grant types",
            m.grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("scope", m.scope.clone().unwrap_or_else(|| "-".into())),
        (
            "client uri",
            m.client_uri.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "software",
            match (&m.software_id, &m.software_version) {
                (None, None) => "-".into(),
                (id, version) => format!(
                    "{} {}",
                    id.as_deref().unwrap_or("-"),
                    version.as_deref().unwrap_or("")
                )
                .trim_end()
                .to_owned(),
            },
        ),
    ];
    ctx.out.fields(&fields);
    println!();
    println!("active grants: {}", active.len());
    if !active.is_empty() {
        ctx.out.table(
            &[
                "GRANT_ID", "USER", "CLIENT", "STATUS", "SCOPE", "CREATED", "ROTATED", "EXPIRES",
            ],
            &grants::rows(&active),
        );
    }
    println!();
    println!("recent audit events: {}", events.len());
    if !events.is_empty() {
        ctx.out.table(
            &["TIME", "TYPE", "USER", "SOURCE", "DETAIL"],
            &audit::rows(&events, false),
        );
    }
    Ok(())
}

/// A client without its secret and registration-token hashes.
fn listed(client: &ClientRecord) -> Value {
    json!({
        "client_id": client.client_id,
        "kind": kind(client.kind),
        "status": status(client.status),
        "client_name": client.metadata.client_name,
        "metadata": client.metadata,
        "created_at": client.created_at,
        "created_ip": client.created_ip,
        "created_user_agent": client.created_user_agent,
        "last_used_at": client.last_used_at,
        "expires_at": client.expires_at,
        "confidential": client.secret_hash.is_some(),
    })
}

fn kind(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Dcr => "dcr",
        ClientKind::Cimd => "cimd",
        ClientKind::Static => "static",
    }
}

fn status(status: ClientStatus) -> &'static str {
    match status {
        ClientStatus::Active => "active",
        ClientStatus::Disabled => "disabled",
        ClientStatus::Revoked => "revoked",
    }
}
