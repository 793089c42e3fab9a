//! Operator counters for both servers: one process-wide set of atomics that the flows bump where
//! an outcome is known, read as CloudWatch Embedded Metric Format lines on Lambda (one batch per
//! request, written before the invocation ends) and as a text page in `serve`.
//!
//! No counter carries a user, client, token or address: the only dimensions are a tool name
//! (from the server's own tool list) and a fixed refusal reason.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace used when none is configured.
pub const DEFAULT_NAMESPACE: &str = "ServerlessMcp";

/// Counters without dimensions. All are counts of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A client registered through `POST /register`.
    ClientsRegistered,
    /// A valid authorization request was accepted at `/authorize`.
    AuthorizationsStarted,
    /// The user approved a client (consent page or a remembered approval).
    AuthorizationsApproved,
    /// The user denied a client on the consent page.
    AuthorizationsDenied,
    /// A login attempt failed (wrong password, upstream error, refused account).
    LoginsFailed,
    /// Tokens issued for an authorization code.
    TokensIssued,
    /// Tokens issued for a refresh token.
    TokensRefreshed,
    /// A superseded refresh token was presented again; its grant was revoked.
    RefreshTokenReuse,
    /// A token revoked by its client (RFC 7009).
    TokensRevoked,
    /// A store call failed (the request answered 503, or a best-effort write was lost).
    StoreErrors,
    /// A call that reached the cost source (Cost Explorer on AWS), cache misses only.
    CostExplorerCalls,
    /// A cost question answered from the cache.
    CostCacheHits,
    /// A cost question refused because the user's daily budget is spent.
    CostBudgetsExhausted,
}

impl Metric {
    pub const ALL: [Self; 13] = [
        Self::ClientsRegistered,
        Self::AuthorizationsStarted,
        Self::AuthorizationsApproved,
        Self::AuthorizationsDenied,
        Self::LoginsFailed,
        Self::TokensIssued,
        Self::TokensRefreshed,
        Self::RefreshTokenReuse,
        Self::TokensRevoked,
        Self::StoreErrors,
        Self::CostExplorerCalls,
        Self::CostCacheHits,
        Self::CostBudgetsExhausted,
    ];

    /// The CloudWatch metric name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientsRegistered => "ClientsRegistered",
            Self::AuthorizationsStarted => "AuthorizationsStarted",
            Self::AuthorizationsApproved => "AuthorizationsApproved",
            Self::AuthorizationsDenied => "AuthorizationsDenied",
            Self::LoginsFailed => "LoginsFailed",
            Self::TokensIssued => "TokensIssued",
            Self::TokensRefreshed => "TokensRefreshed",
            Self::RefreshTokenReuse => "RefreshTokenReuse",
            Self::TokensRevoked => "TokensRevoked",
            Self::StoreErrors => "StoreErrors",
            Self::CostExplorerCalls => "CostExplorerCalls",
            Self::CostCacheHits => "CostCacheHits",
            Self::CostBudgetsExhausted => "CostBudgetsExhausted",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why the MCP endpoint refused a request: the `Reason` dimension of `McpUnauthorized` (401)
/// and `McpForbidden` (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token (the client has not signed in yet: normal on first contact).
    MissingToken,
    /// A token that does not verify (signature, issuer, audience, format, unknown key).
    InvalidToken,
    /// A token past its expiry.
    ExpiredToken,
    /// A token whose grant, client, user or itself was revoked.
    RevokedToken,
    /// A valid token without the scope the call needs (403).
    InsufficientScope,
}

impl Refusal {
    pub const ALL: [Self; 5] = [
        Self::MissingToken,
        Self::InvalidToken,
        Self::ExpiredToken,
        Self::RevokedToken,
        Self::InsufficientScope,
    ];

    /// The dimension value.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::ExpiredToken => "expired_token",
            Self::RevokedToken => "revoked_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }

    /// The metric it is counted in: 401 or 403.
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::InsufficientScope => FORBIDDEN,
            _ => UNAUTHORIZED,
        }
    }
}

/// 401 answers of the MCP endpoint, by `Reason`.
pub const UNAUTHORIZED: &str = "McpUnauthorized";
/// 403 answers of the MCP endpoint, by `Reason`.
pub const FORBIDDEN: &str = "McpForbidden";
/// Tool calls, by `Tool`.
pub const TOOL_CALLS: &str = "ToolCalls";
/// The dimension of [`TOOL_CALLS`].
pub const TOOL_DIMENSION: &str = "Tool";
/// The dimension of [`UNAUTHORIZED`] and [`FORBIDDEN`].
pub const REASON_DIMENSION: &str = "Reason";

/// The counters (process-wide: each Lambda instance is one process serving one request at a
/// time, and `serve` shows one set for both servers).
struct Registry {
    plain: [AtomicU64; Metric::ALL.len()],
    refusals: [AtomicU64; Refusal::ALL.len()],
    /// The tool names are the server's own, fixed when the MCP server is built.
    tools: OnceLock<Box<[(Box<str>, AtomicU64)]>>,
}

static REGISTRY: Registry = Registry {
    plain: [const { AtomicU64::new(0) }; Metric::ALL.len()],
    refusals: [const { AtomicU64::new(0) }; Refusal::ALL.len()],
    tools: OnceLock::new(),
};

/// Counts one `metric` event.
pub fn count(metric: Metric) {
    if let Some(counter) = REGISTRY.plain.get(metric.index()) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts one refused MCP request.
pub fn refused(refusal: Refusal) {
    if let Some(counter) = REGISTRY.refusals.get(refusal as usize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Declares the tool names [`tool_call`] counts (the first declaration stays; every MCP
/// server in a process has the same tools).
pub fn declare_tools<S: AsRef<str>>(names: impl IntoIterator<Item = S>) {
    REGISTRY.tools.get_or_init(|| {
        names
            .into_iter()
            .map(|name| (Box::from(name.as_ref()), AtomicU64::new(0)))
            .collect()
    });
}

/// Counts one call of the tool `name`; a name that was not declared is not counted (a client
/// chooses the name it sends, and must not create dimension values).
pub fn tool_call(name: &str) {
    if let Some((_, counter)) = REGISTRY
        .tools
        .get()
        .and_then(|tools| tools.iter().find(|(known, _)| known.as_ref() == name))
    {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One counter's value: its metric name, its dimension (if any) and the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: &'static str,
    pub dimension: Option<(&'static str, String)>,
    pub value: u64,
}

/// Every counter's value at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub series: Vec<Series>,
}

/// Every counter through `read`; zeros left out unless `zeros` (a request's batch is usually a
/// handful of counters, so the common case allocates little).
fn read(read: impl Fn(&AtomicU64) -> u64, zeros: bool) -> Snapshot {
    let mut series = Vec::new();
    let mut push = |name: &'static str, dimension: Option<(&'static str, &str)>, value: u64| {
        if zeros || value > 0 {
            series.push(Series {
                name,
                dimension: dimension.map(|(key, value)| (key, value.to_owned())),
                value,
            });
        }
    };
    for (metric, counter) in Metric::ALL.iter().zip(&REGISTRY.plain) {
        push(metric.name(), None, read(counter));
    }
    for (refusal, counter) in Refusal::ALL.iter().zip(&REGISTRY.refusals) {
        let dimension = Some((REASON_DIMENSION, refusal.reason()));
        push(refusal.metric_name(), dimension, read(counter));
    }
    for (tool, counter) in REGISTRY.tools.get().into_iter().flatten() {
        push(TOOL_CALLS, Some((TOOL_DIMENSION, tool)), read(counter));
    }
    Snapshot { series }
}

/// Every counter since the process started, zeros included (what `serve` shows).
pub fn totals() -> Snapshot {
    read(|counter| counter.load(Ordering::Relaxed), true)
}

/// The non-zero counters since the last call, which resets them (what a Lambda request emits).
pub fn take() -> Snapshot {
    read(|counter| counter.swap(0, Ordering::Relaxed), false)
}

impl Snapshot {
    /// The non-zero counters as EMF documents, one JSON object per line: one for the counters
    /// without dimensions, one per dimension value. `service` (`authz` or `mcp`) is a plain
    /// member for log queries, not a dimension. Empty when nothing was counted.
    pub fn emf_lines(&self, namespace: &str, service: &str, timestamp_ms: i64) -> Vec<String> {
        let mut groups: Vec<(Option<&(&'static str, String)>, Vec<&Series>)> = Vec::new();
        for series in self.series.iter().filter(|s| s.value > 0) {
            let key = series.dimension.as_ref();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(series),
                None => groups.push((key, vec![series])),
            }
        }
        groups
            .into_iter()
            .map(|(dimension, members)| {
                let dimensions: Vec<&str> = dimension.iter().map(|(key, _)| *key).collect();
                let definitions: Vec<Value> = members
                    .iter()
                    .map(|s| json!({ "Name": s.name, "Unit": "Count" }))
                    .collect();
                let mut root = Map::new();
                root.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": namespace,
                            "Dimensions": [dimensions],
                            "Metrics": definitions,
                        }],
                    }),
                );
                root.insert("Service".into(), Value::from(service));
                if let Some((key, value)) = dimension {
                    root.insert((*key).into(), Value::from(value.as_str()));
                }
                for s in members {
                    root.insert(s.name.into(), Value::from(s.value));
                }
                Value::Object(root).to_string()
            })
            .collect()
    }

    /// Every counter as text, one `Name{Dimension="value"} count` line each (the Prometheus
    /// text format), zeros included so the list is complete.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for s in &self.series {
            let _ = match &s.dimension {
                Some((key, value)) => writeln!(out, "{}{{{key}=\"{value}\"}} {}", s.name, s.value),
                None => writeln!(out, "{} {}", s.name, s.value),
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &'static str, dimension: Option<(&'static str, &str)>, value: u64) -> Series {
        Series {
            name,
            dimension: dimension.map(|(k, v)| (k, v.to_owned())),
            value,
        }
    }

    #[test]
    fn emf_lines_follow_the_documented_shape_and_skip_zeros() {
        let snapshot = Snapshot {
            series: vec![
                series("TokensIssued", None, 2),
                series("StoreErrors", None, 0),
                series("TokensRefreshed", None, 1),
                series(TOOL_CALLS, Some((TOOL_DIMENSION, "get_today_date")), 3),
                series(TOOL_CALLS, Some((TOOL_DIMENSION, "get_cost_forecast")), 0),
                series(UNAUTHORIZED, Some((REASON_DIMENSION, "missing_token")), 1),
            ],
        };
        let lines = snapshot.emf_lines("Ns", "mcp", 1_700_000_000_000);
        assert_eq!(lines.len(), 3);
        let docs: Vec<Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let plain = &docs[0];
        assert_eq!(plain["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let directive = &plain["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Ns");
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "TokensIssued", "Unit": "Count"}, {"Name": "TokensRefreshed", "Unit": "Count"}])
        );
        assert_eq!(plain["TokensIssued"], 2);
        assert_eq!(plain["Service"], "mcp");
        assert!(plain.get("StoreErrors").is_none());
        let tool = &docs[1];
        assert_eq!(
            tool["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Tool"]])
        );
        assert_eq!(tool["Tool"], "get_today_date");
        assert_eq!(tool["ToolCalls"], 3);
        assert_eq!(docs[2]["Reason"], "missing_token");
        assert_eq!(docs[2]["McpUnauthorized"], 1);
        assert!(Snapshot::default().emf_lines("Ns", "mcp", 0).is_empty());
    }

    #[test]
    fn text_lists_every_counter() {
        let snapshot = Snapshot {
            series: vec![
                series("TokensIssued", None, 0),
                series(FORBIDDEN, Some((REASON_DIMENSION, "insufficient_scope")), 4),
            ],
        };
        assert_eq!(
            snapshot.text(),
            "TokensIssued 0\nMcpForbidden{Reason=\"insufficient_scope\"} 4\n"
        );
    }

    /// The only test in this crate that touches the process-wide counters (nothing else in
    /// `shared` counts), so its reads are exact.
    #[test]
    fn take_returns_what_was_counted_once_and_undeclared_tools_are_ignored() {
        declare_tools(["get_today_date", "get_cost_forecast"]);
        declare_tools(["ignored"]);
        count(Metric::StoreErrors);
        count(Metric::StoreErrors);
        refused(Refusal::ExpiredToken);
        tool_call("get_today_date");
        tool_call("a_name_a_client_made_up");
        tool_call("ignored");
        let taken = take();
        assert_eq!(
            taken.series,
            vec![
                series("StoreErrors", None, 2),
                series(UNAUTHORIZED, Some((REASON_DIMENSION, "expired_token")), 1),
                series(TOOL_CALLS, Some((TOOL_DIMENSION, "get_today_date")), 1),
            ]
        );
        assert!(take().series.is_empty(), "reset by the first take");
        let all = totals();
        assert_eq!(all.series.len(), Metric::ALL.len() + Refusal::ALL.len() + 2);
        assert!(all.series.iter().all(|s| s.value == 0));
    }

    #[test]
    fn names_are_unique_and_reasons_map_to_their_status() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.extend([UNAUTHORIZED, FORBIDDEN, TOOL_CALLS]);
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        for (i, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(metric.index(), i);
        }
        for refusal in Refusal::ALL {
            let status = if refusal == Refusal::InsufficientScope {
                FORBIDDEN
            } else {
                UNAUTHORIZED
            };
            assert_eq!(refusal.metric_name(), status);
        }
    }
}
