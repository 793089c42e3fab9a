//! `admin clients list` and `show`: who registered, from where, when last used, who granted
//! them access.

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use shared::store::{
    AuditQuery, ClientKind, ClientRecord, ClientStatus, GrantRecord, GrantStatus, PageRequest,
};

use super::super::grants;
use super::super::output::{self, Progress};
use super::super::{Ctx, Failure, audit};
use super::not_found;

/// Recent audit events shown by `clients show`.
const RECENT_EVENTS: usize = 10;

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
    /// Only clients registered from this address or range (192.0.2.7, 192.0.2.0/24, 2001:db8::/32).
    #[arg(long, value_name = "ADDRESS|CIDR", value_parser = parse_net)]
    from: Option<ipnet::IpNet>,
    /// Only clients whose name contains this text (any case).
    #[arg(long)]
    name: Option<String>,
    /// Only clients whose registering user agent contains this text (any case).
    #[arg(long)]
    user_agent: Option<String>,
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
        let from_ok = self.from.is_none_or(|net| {
            client
                .created_ip
                .as_deref()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                .is_some_and(|ip| net.contains(&ip))
        });
        kind_ok
            && status_ok
            && from_ok
            && contains(client.metadata.client_name.as_deref(), self.name.as_deref())
            && contains(
                client.created_user_agent.as_deref(),
                self.user_agent.as_deref(),
            )
            && (!self.never_used || client.last_used_at.is_none())
    }
}

/// Whether `text` contains `wanted` in any case (no filter: yes).
fn contains(text: Option<&str>, wanted: Option<&str>) -> bool {
    wanted.is_none_or(|wanted| {
        text.is_some_and(|text| text.to_lowercase().contains(&wanted.to_lowercase()))
    })
}

/// An address (a range of one) or a CIDR range.
fn parse_net(raw: &str) -> Result<ipnet::IpNet, String> {
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{raw:?} is not an address or CIDR range"))
}

pub(super) async fn list(ctx: &Ctx, args: ListArgs) -> Result<(), Failure> {
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

pub(super) async fn show(ctx: &Ctx, client_id: &str) -> Result<(), Failure> {
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
            &grants::rows(&active, &grants::names(ctx, &active).await),
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
