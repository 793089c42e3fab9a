//! `admin clients list`: registered clients, newest first, filtered by kind, status, use, name,
//! registration address (`--from`, CIDR) and user agent.

use clap::{Args, ValueEnum};
use shared::store::{ClientKind, ClientRecord, ClientStatus};

use super::show::{kind, listed, status};
use crate::admin::filter::{self, Investigate, Order};
use crate::admin::{Ctx, Failure, output, pages, when};

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Registered at or after this time (2026-01-01, 2026-01-01T10:00:00Z, or an age: 24h, 7d).
    #[arg(long, value_parser = when::parse_time)]
    since: Option<i64>,
    /// Registered before this time.
    #[arg(long, value_parser = when::parse_time)]
    until: Option<i64>,
    /// Only clients of this kind.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Only clients in this status.
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// Only clients that have never been used at the token endpoint.
    #[arg(long)]
    never_used: bool,
    /// Only clients whose name contains this text (any case).
    #[arg(long, value_name = "TEXT")]
    name: Option<String>,
    #[command(flatten)]
    investigate: Investigate,
    #[command(flatten)]
    order: Order,
    /// At most this many clients (oldest first: then prints the --after cursor of the next page).
    #[arg(long)]
    limit: Option<usize>,
    /// Continue after this cursor (with --oldest-first).
    #[arg(long, requires = "oldest_first")]
    after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Dcr,
    Cimd,
    Static,
    ResourceServer,
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
                    KindArg::ResourceServer => ClientKind::ResourceServer,
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
        let name_ok = self
            .name
            .as_deref()
            .is_none_or(|want| filter::contains(client.metadata.client_name.as_deref(), want));
        kind_ok
            && status_ok
            && name_ok
            && self.until.is_none_or(|until| client.created_at < until)
            && (!self.never_used || client.last_used_at.is_none())
            && self.investigate.keeps(
                client.created_ip.as_deref(),
                client.created_user_agent.as_deref(),
            )
    }
}

/// Lists the clients `args` selects.
pub async fn run(ctx: &Ctx, args: ListArgs) -> Result<(), Failure> {
    let (clients, next) = pages::collect(
        "clients read:",
        args.order,
        args.limit,
        args.after.clone(),
        async |request| {
            match args.since {
                Some(since) => ctx.stores.clients.list_since(since, request).await,
                None => ctx.stores.clients.list(request).await,
            }
            .map_err(|e| ctx.store_failure(e))
        },
        |c| args.keeps(c),
    )
    .await?;
    let rows: Vec<Vec<String>> = clients
        .iter()
        .map(|c| {
            vec![
                c.client_id.to_string(),
                kind(c.kind).to_owned(),
                status(c.status).to_owned(),
                c.metadata.client_name.clone().unwrap_or_else(|| "-".into()),
                when::time(c.created_at),
                c.created_ip.clone().unwrap_or_else(|| "-".into()),
                when::time_opt(c.last_used_at, "never"),
            ]
        })
        .collect();
    let records: Vec<_> = clients.iter().map(listed).collect();
    ctx.out.list(
        "no clients",
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
        &records,
    );
    output::more(next.as_ref());
    Ok(())
}
