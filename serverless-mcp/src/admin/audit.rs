//! `admin audit`: the latest events (`tail`) and a search by type, client, user and time
//! range over the 90-day audit trail.

use std::collections::VecDeque;

use clap::{Args, Subcommand};
use serde_json::Value;
use shared::store::{AuditEvent, AuditQuery, PageRequest};

use super::output::{self, Progress};
use super::{Ctx, Failure};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The most recent events, oldest of them first.
    Tail {
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        #[command(flatten)]
        filter: Filter,
    },
    /// Events in a time range, oldest first.
    Search {
        #[command(flatten)]
        filter: Filter,
        /// From this time on (2026-01-01, 2026-01-01T10:00:00Z, or an age: 90m, 24h, 7d)
        /// [default: 90 days ago].
        #[arg(long, value_parser = output::parse_time)]
        since: Option<i64>,
        /// Before this time [default: now].
        #[arg(long, value_parser = output::parse_time)]
        until: Option<i64>,
        /// At most this many events (then prints the --after cursor for the next page).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this cursor.
        #[arg(long)]
        after: Option<String>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Filter {
    /// Event type, e.g. `client.registered`; a trailing `*` matches a prefix (`admin.*`).
    #[arg(long = "type")]
    kind: Option<String>,
    /// Events of this client (read from the client's own listing: fast).
    #[arg(long, allow_hyphen_values = true)]
    client: Option<String>,
    /// Events of this user (`sub`).
    #[arg(long)]
    user: Option<String>,
}

impl Filter {
    fn query(&self) -> AuditQuery {
        AuditQuery {
            kind: self.kind.clone(),
            client_id: self.client.clone(),
            sub: self.user.clone(),
            since_ms: None,
            until_ms: None,
        }
    }
}

pub async fn run(ctx: &Ctx, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Tail { lines, filter } => {
            let events = recent(ctx, &filter.query(), lines).await?;
            show(ctx, &events);
            Ok(())
        }
        AuditCommand::Search {
            filter,
            since,
            until,
            limit,
            after,
        } => {
            let query = AuditQuery {
                since_ms: since.map(|s| s.saturating_mul(1000)),
                until_ms: until.map(|u| u.saturating_mul(1000)),
                ..filter.query()
            };
            let mut progress = Progress::new("audit events found:");
            let mut events = Vec::new();
            let mut request = PageRequest { after, limit: 0 };
            let next = loop {
                let want = limit.map_or(500, |l| l.saturating_sub(events.len()));
                if want == 0 {
                    break request.after;
                }
                request.limit = want.min(500);
                let page = ctx
                    .stores
                    .audit
                    .search(&query, &request)
                    .await
                    .map_err(|e| ctx.store_failure(e))?;
                events.extend(page.items);
                progress.update(events.len(), "");
                match page.next {
                    Some(next) => request.after = Some(next),
                    None => break None,
                }
            };
            progress.finish();
            show(ctx, &events);
            output::more(next.as_ref());
            Ok(())
        }
    }
}

/// Windows searched, newest first, until enough events are found: seconds back from now.
const WINDOWS: [i64; 5] = [3600, 86_400, 7 * 86_400, 30 * 86_400, 91 * 86_400];

/// The latest `n` events matching `query`, oldest first. Searches the last hour, then the last
/// day, week, month and the whole retention period, so a busy trail is not read in full.
pub async fn recent(ctx: &Ctx, query: &AuditQuery, n: usize) -> Result<Vec<AuditEvent>, Failure> {
    let now_ms = ctx.now_ms().saturating_add(1);
    let mut found: Vec<AuditEvent> = Vec::new();
    let mut until_ms = now_ms;
    let mut progress = Progress::new("audit events read:");
    for window in WINDOWS {
        if found.len() >= n {
            break;
        }
        let since_ms = now_ms.saturating_sub(window.saturating_mul(1000));
        let query = AuditQuery {
            since_ms: Some(since_ms),
            until_ms: Some(until_ms),
            ..query.clone()
        };
        let mut latest: VecDeque<AuditEvent> = VecDeque::new();
        let mut request = PageRequest::first(1000);
        let mut read = 0;
        loop {
            let page = ctx
                .stores
                .audit
                .search(&query, &request)
                .await
                .map_err(|e| ctx.store_failure(e))?;
            read += page.items.len();
            progress.update(read, "");
            for event in page.items {
                latest.push_back(event);
                if latest.len() > n {
                    latest.pop_front();
                }
            }
            match page.next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
        let mut older: Vec<AuditEvent> = latest.into_iter().collect();
        older.append(&mut found);
        found = older;
        until_ms = since_ms;
    }
    progress.finish();
    let excess = found.len().saturating_sub(n);
    Ok(found.split_off(excess))
}

/// Events as JSON lines or a table.
pub fn show(ctx: &Ctx, events: &[AuditEvent]) {
    if ctx.out.json {
        for event in events {
            ctx.out.json_line(event);
        }
        return;
    }
    if events.is_empty() {
        println!("no audit events");
        return;
    }
    ctx.out.table(
        &["TIME", "TYPE", "CLIENT", "USER", "SOURCE", "DETAIL"],
        &rows(events, true),
    );
}

/// Table rows of events; `with_client` false drops the client column (shown per client).
pub fn rows(events: &[AuditEvent], with_client: bool) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let mut row = vec![
                output::time(e.at_ms.div_euclid(1000)),
                e.kind.as_str().to_owned(),
            ];
            if with_client {
                row.push(e.client_id.clone().unwrap_or_else(|| "-".into()));
            }
            row.push(e.sub.clone().unwrap_or_else(|| "-".into()));
            row.push(source(e));
            row.push(detail(e));
            row
        })
        .collect()
}

fn source(event: &AuditEvent) -> String {
    match (&event.source_ip, event.source()) {
        (Some(ip), _) => ip.clone(),
        (None, Some(source)) => source.to_owned(),
        (None, None) => "-".into(),
    }
}

fn detail(event: &AuditEvent) -> String {
    event
        .other_details()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
