//! `admin audit`: the latest events (`tail`) and a search by type, client, user, source address,
//! user agent and time range over the 90-day audit trail; newest first.

use std::collections::VecDeque;

use clap::{Args, Subcommand};
use serde_json::Value;
use shared::store::{AuditEvent, AuditQuery, PageRequest};

use super::filter::{Investigate, Order};
use super::output::Progress;
use super::{Ctx, Failure, help, output, pages, when};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The most recent events, newest first.
    #[command(after_help = help::AUDIT_TAIL)]
    Tail {
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        #[command(flatten)]
        filter: Filter,
    },
    /// Events in a time range, newest first.
    #[command(after_help = help::AUDIT_SEARCH)]
    Search {
        #[command(flatten)]
        filter: Filter,
        /// From this time on (2026-01-01, 2026-01-01T10:00:00Z, or an age: 90m, 24h, 7d)
        /// [default: 90 days ago].
        #[arg(long, value_parser = when::parse_time)]
        since: Option<i64>,
        /// Before this time [default: now].
        #[arg(long, value_parser = when::parse_time)]
        until: Option<i64>,
        #[command(flatten)]
        order: Order,
        /// At most this many events (the newest; oldest first: then prints the --after cursor).
        #[arg(long)]
        limit: Option<usize>,
        /// Continue after this cursor (with --oldest-first).
        #[arg(long, requires = "oldest_first")]
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
    #[command(flatten)]
    investigate: Investigate,
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

    fn keeps(&self, event: &AuditEvent) -> bool {
        self.investigate
            .keeps(event.source_ip.as_deref(), event.user_agent.as_deref())
    }
}

/// Runs one `admin audit` command.
pub async fn run(ctx: &Ctx, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Tail { lines, filter } => {
            let events = latest(ctx, &filter.query(), lines, |e| filter.keeps(e)).await?;
            show(ctx, &events);
            Ok(())
        }
        AuditCommand::Search {
            filter,
            since,
            until,
            order,
            limit,
            after,
        } => {
            let query = AuditQuery {
                since_ms: since.map(|s| s.saturating_mul(1000)),
                until_ms: until.map(|u| u.saturating_mul(1000)),
                ..filter.query()
            };
            if let (Some(n), false) = (limit, order.oldest_first) {
                let events = latest(ctx, &query, n, |e| filter.keeps(e)).await?;
                show(ctx, &events);
                return Ok(());
            }
            let (events, next) = pages::collect(
                "audit events found:",
                order,
                limit,
                after,
                async |request| {
                    ctx.stores
                        .audit
                        .search(&query, request)
                        .await
                        .map_err(|e| ctx.store_failure(e))
                },
                |e| filter.keeps(e),
            )
            .await?;
            show(ctx, &events);
            output::more(next.as_ref());
            Ok(())
        }
    }
}

/// Windows searched, newest first, until enough events are found: seconds back from the end.
const WINDOWS: [i64; 5] = [3600, 86_400, 7 * 86_400, 30 * 86_400, 91 * 86_400];

/// The latest `n` events matching `query`, newest first (see [`latest`]).
pub async fn recent(ctx: &Ctx, query: &AuditQuery, n: usize) -> Result<Vec<AuditEvent>, Failure> {
    latest(ctx, query, n, |_| true).await
}

/// The latest `n` events matching `query` (within its time range, if any) that `keep`
/// accepts, newest first. Searches the last hour before the end of the range (or now), then the
/// last day, week, month and the whole retention period, so a busy trail is not read in full.
async fn latest(
    ctx: &Ctx,
    query: &AuditQuery,
    n: usize,
    keep: impl Fn(&AuditEvent) -> bool,
) -> Result<Vec<AuditEvent>, Failure> {
    let end_ms = query
        .until_ms
        .unwrap_or_else(|| ctx.now_ms().saturating_add(1));
    let floor_ms = query.since_ms.unwrap_or(i64::MIN);
    let mut found: Vec<AuditEvent> = Vec::new();
    let mut until_ms = end_ms;
    let mut progress = Progress::new("audit events read:");
    for window in WINDOWS {
        if found.len() >= n || until_ms <= floor_ms {
            break;
        }
        let since_ms = end_ms
            .saturating_sub(window.saturating_mul(1000))
            .max(floor_ms);
        let query = AuditQuery {
            since_ms: Some(since_ms),
            until_ms: Some(until_ms),
            ..query.clone()
        };
        let mut newest: VecDeque<AuditEvent> = VecDeque::new();
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
            for event in page.items.into_iter().filter(|e| keep(e)) {
                newest.push_back(event);
                if newest.len() > n {
                    newest.pop_front();
                }
            }
            match page.next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
        // `newest` is oldest first; `found` newest first.
        found.extend(newest.into_iter().rev());
        until_ms = since_ms;
    }
    progress.finish();
    found.truncate(n);
    Ok(found)
}

/// Events as the output format has them.
pub fn show(ctx: &Ctx, events: &[AuditEvent]) {
    let records: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    ctx.out.list(
        "no audit events",
        &["TIME", "TYPE", "CLIENT", "USER", "SOURCE", "DETAIL"],
        &rows(events, true),
        &records,
    );
}

/// Table rows of events; `with_client` false drops the client column (shown per client).
pub fn rows(events: &[AuditEvent], with_client: bool) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let mut row = vec![
                when::time(e.at_ms.div_euclid(1000)),
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

/// The details as `key=value` words, by key (the same order however the map keeps them).
fn detail(event: &AuditEvent) -> String {
    let mut words: Vec<(&str, String)> = event
        .other_details()
        .map(|(k, v)| match v {
            Value::String(s) => (k, format!("{k}={s}")),
            other => (k, format!("{k}={other}")),
        })
        .collect();
    words.sort_by(|a, b| a.0.cmp(b.0));
    words
        .into_iter()
        .map(|(_, word)| word)
        .collect::<Vec<_>>()
        .join(" ")
}
