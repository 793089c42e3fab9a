//! What every handler can reach, and the MCP server's own settings (read through the same
//! lookup function as [`Config`], validated at start-up).

use std::sync::Arc;

use shared::clock::Clock;
use shared::config::{Config, ConfigError, Function, Runtime};
use shared::store::Stores;
use url::Url;

use crate::access::AccountScopes;
use crate::cost::CostSource;
use crate::cost::metered::{Meter, MeterSettings};
use crate::cost::sample::SampleCostSource;
use crate::tools::ToolContext;
use mcp_host::{JwksSource, Protection, ScopePolicy, resource_host_and_origin};

/// Names of the MCP server's settings (environment variables).
pub mod keys {
    /// JSON object: upstream group → list of linked account ids (`"*"` = all accounts; the
    /// group `"*"` = every signed-in user). Users in no listed group see nothing. Unset: nobody
    /// sees anything on AWS (Lambda, or Cost Explorer as the source), everyone sees everything
    /// with the sample data of `serve`.
    pub const ACCOUNT_SCOPES: &str = "SMCP_ACCOUNT_SCOPES";
    /// How long identical Cost Explorer answers are reused (seconds; default 3600, 0 = off).
    pub const COST_CACHE_TTL: &str = "SMCP_COST_CACHE_TTL_SECS";
    /// Cost Explorer calls per user per UTC day (default 200, 0 = unlimited).
    pub const COST_DAILY_BUDGET: &str = "SMCP_COST_DAILY_BUDGET";
    /// `sample` (embedded organisation, default) or `aws` (Cost Explorer).
    pub const COST_SOURCE: &str = "SMCP_COST_SOURCE";
    /// Extra allowed `Host` values, comma-separated (the resource URL's host is always allowed).
    pub const ALLOWED_HOSTS: &str = "SMCP_ALLOWED_HOSTS";
    /// Extra allowed `Origin` values, comma-separated (the resource URL's origin always is).
    pub const ALLOWED_ORIGINS: &str = "SMCP_ALLOWED_ORIGINS";
}

/// Where cost data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSourceKind {
    Sample,
    Aws,
}

/// Settings of the MCP server beyond the shared [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpSettings {
    pub account_scopes: AccountScopes,
    pub meter: MeterSettings,
    pub cost_source: CostSourceKind,
    /// `Host` header values accepted on `/mcp` (`host` or `host:port`).
    pub allowed_hosts: Vec<String>,
    /// `Origin` header values accepted on `/mcp` (absent `Origin` is accepted).
    pub allowed_origins: Vec<String>,
}

/// Both configurations a process of the MCP server needs, read through one lookup and checked
/// for `runtime`: the shared settings, their runtime rules, then the MCP server's own.
pub fn read_config(
    lookup: impl Fn(&str) -> Option<String>,
    runtime: Runtime,
) -> Result<(Config, McpSettings), ConfigError> {
    let config = Config::from_lookup(&lookup)?;
    config.validate_for(runtime)?;
    if runtime == Runtime::Lambda(Function::Mcp) {
        check_scopes(&config)?;
    }
    let settings = McpSettings::from_lookup(&config, &lookup)?;
    Ok((config, settings))
}

/// Whether the authorization server offers the Cost Explorer server's scopes (`SMCP_SCOPES`
/// lists `costs:read` and `costs:resources`): checked by the MCP function at start-up and by
/// `serve` unless `--no-mcp`, never by the authorization server alone (which may front another
/// MCP server with other scopes).
pub fn check_scopes(config: &Config) -> Result<(), ConfigError> {
    crate::tools::TOOL_SCOPES
        .iter()
        .fold(
            ScopePolicy::new(crate::tools::EVERY_TOOL),
            |policy, (tool, scope)| policy.tool_scope(*tool, *scope),
        )
        .check_offered(&config.scopes)
        .map_err(|problem| invalid(shared::config::keys::SCOPES, problem))
}

fn invalid(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        problem: problem.into(),
    }
}

impl McpSettings {
    /// Defaults for `config` (local use): sample data, every signed-in user sees every sample
    /// account, 1 h cache, 200 calls a day, and the resource URL's host and origin.
    pub fn defaults(config: &Config) -> Self {
        let (host, origin) = resource_host_and_origin(&config.resource);
        Self {
            account_scopes: AccountScopes::everyone(),
            meter: MeterSettings::default(),
            cost_source: CostSourceKind::Sample,
            allowed_hosts: host.into_iter().collect(),
            allowed_origins: origin.into_iter().collect(),
        }
    }

    /// Reads the settings through `lookup`; empty values count as unset.
    pub fn from_lookup(
        config: &Config,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let mut settings = Self::defaults(config);
        let number = |key: &'static str| -> Result<Option<u64>, ConfigError> {
            get(key)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| invalid(key, format!("{v:?} is not a whole number")))
                })
                .transpose()
        };
        if let Some(ttl) = number(keys::COST_CACHE_TTL)? {
            settings.meter.cache_ttl_secs = ttl;
        }
        if let Some(budget) = number(keys::COST_DAILY_BUDGET)? {
            settings.meter.daily_call_budget = budget;
        }
        settings.cost_source = match get(keys::COST_SOURCE).as_deref() {
            None | Some("sample") => CostSourceKind::Sample,
            Some("aws") => CostSourceKind::Aws,
            Some(other) => {
                return Err(invalid(
                    keys::COST_SOURCE,
                    format!("unknown source {other:?} (expected \"sample\" or \"aws\")"),
                ));
            }
        };
        // Real cost data is shown only to the groups the mapping names: without a mapping,
        // nobody sees any on AWS. The everything-for-everyone default is for sample data only.
        let on_aws = settings.cost_source == CostSourceKind::Aws
            || get(shared::config::keys::LAMBDA_FUNCTION).is_some();
        settings.account_scopes = match get(keys::ACCOUNT_SCOPES) {
            Some(json) => {
                AccountScopes::parse_json(&json).map_err(|p| invalid(keys::ACCOUNT_SCOPES, p))?
            }
            None if on_aws => AccountScopes::default(),
            None => AccountScopes::everyone(),
        };
        let list = |key: &str| -> Vec<String> {
            get(key)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        // Each value must be what the header carries, or it would never match and the requests
        // it was meant to let through would be refused with nothing to say why.
        for host in list(keys::ALLOWED_HOSTS) {
            if !is_host_header(&host) {
                return Err(invalid(
                    keys::ALLOWED_HOSTS,
                    format!("{host:?} is not a Host value like mcp.example.com or 127.0.0.1:8080"),
                ));
            }
            settings.allowed_hosts.push(host);
        }
        for origin in list(keys::ALLOWED_ORIGINS) {
            if !is_origin(&origin) {
                return Err(invalid(
                    keys::ALLOWED_ORIGINS,
                    format!(
                        "{origin:?} is not an origin like https://app.example.com (scheme, host \
                         and port only: no path, not even a trailing slash)"
                    ),
                ));
            }
            settings.allowed_origins.push(origin);
        }
        Ok(settings)
    }
}

/// Whether `value` is a `Host` header value: a host name or address, optionally `:port`, and
/// nothing else (no scheme, user information, path or query).
fn is_host_header(value: &str) -> bool {
    if value.contains(['/', '@', '?', '#', ' ']) {
        return false;
    }
    let Ok(url) = Url::parse(&format!("http://{value}")) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let rebuilt = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    // The URL parser drops http's default port, which a Host header may still name.
    rebuilt.eq_ignore_ascii_case(value)
        || value
            .strip_suffix(":80")
            .is_some_and(|bare| rebuilt.eq_ignore_ascii_case(bare))
}

/// Whether `value` is an `Origin` header value: exactly a serialized tuple origin.
fn is_origin(value: &str) -> bool {
    Url::parse(value).is_ok_and(|url| {
        let origin = url.origin();
        origin.is_tuple() && origin.ascii_serialization() == value
    })
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub settings: Arc<McpSettings>,
    pub(crate) tools: Arc<ToolContext>,
    pub(crate) protection: Protection,
}

impl AppState {
    /// Any cost source; the cache and budget apply when the source is metered.
    pub fn new(
        config: Arc<Config>,
        settings: McpSettings,
        stores: &Stores,
        clock: Arc<dyn Clock>,
        jwks: Arc<dyn JwksSource>,
        cost: Arc<dyn CostSource>,
    ) -> Self {
        let meter = cost.is_metered().then(|| {
            Meter::new(
                stores.cache.clone(),
                stores.rate_limits.clone(),
                clock.clone(),
                settings.meter,
            )
        });
        let tools = Arc::new(ToolContext::new(
            cost,
            meter,
            settings.account_scopes.clone(),
            clock.clone(),
        ));
        let protection = Protection::new(config.clone(), jwks, clock, stores.revocations.clone());
        Self {
            config,
            settings: Arc::new(settings),
            tools,
            protection,
        }
    }

    /// The embedded defaults: sample cost data, keys read in-process (`serve`).
    pub fn embedded(
        config: Arc<Config>,
        settings: McpSettings,
        stores: &Stores,
        clock: Arc<dyn Clock>,
        jwks: Arc<dyn JwksSource>,
    ) -> Self {
        let cost = Arc::new(SampleCostSource::new(clock.clone()));
        Self::new(config, settings, stores, clock, jwks, cost)
    }

    /// What both runtimes build (the Lambda function with keys fetched from the issuer's
    /// metadata, `serve` with keys read in-process): cost data from the source
    /// `settings.cost_source` names: Cost Explorer
    /// through the process's AWS configuration, or the sample organisation.
    pub async fn from_config(
        config: Arc<Config>,
        settings: McpSettings,
        stores: &Stores,
        clock: Arc<dyn Clock>,
        jwks: Arc<dyn JwksSource>,
        aws: &shared::aws::Aws,
    ) -> Self {
        let cost: Arc<dyn CostSource> = match settings.cost_source {
            CostSourceKind::Aws => Arc::new(crate::cost::aws::AwsCostSource::from_sdk_config(
                aws.sdk().await,
            )),
            CostSourceKind::Sample => Arc::new(SampleCostSource::new(clock.clone())),
        };
        Self::new(config, settings, stores, clock, jwks, cost)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::access::Visibility;

    fn settings(pairs: &[(&str, &str)]) -> Result<McpSettings, ConfigError> {
        let lookup = |key: &str| {
            pairs
                .iter()
                .chain(&[
                    ("SMCP_ISSUER", "https://auth.example.com"),
                    ("SMCP_RESOURCE", "https://auth.example.com/mcp"),
                ])
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        };
        let config = Config::from_lookup(lookup)?;
        McpSettings::from_lookup(&config, lookup)
    }

    fn sees(settings: &McpSettings, groups: &[&str]) -> Visibility {
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        settings.account_scopes.visibility(&groups)
    }

    #[test]
    fn extra_hosts_and_origins_are_header_values_or_refused() {
        let ok = settings(&[
            (
                keys::ALLOWED_HOSTS,
                "mcp.example.com, 127.0.0.1:8080,[::1]:9000,Example.org:80",
            ),
            (
                keys::ALLOWED_ORIGINS,
                "https://app.example.com,http://localhost:6274",
            ),
        ])
        .unwrap();
        assert!(ok.allowed_hosts.contains(&"Example.org:80".to_owned()));
        assert!(ok.allowed_hosts.contains(&"[::1]:9000".to_owned()));
        assert!(
            ok.allowed_origins
                .contains(&"http://localhost:6274".to_owned())
        );
        // Values that can never equal the header they are compared with are refused, naming
        // the setting, instead of silently letting nothing through.
        for host in [
            "https://mcp.example.com",
            "mcp.example.com/mcp",
            "user@mcp.example.com",
            "mcp.example.com:99999",
            "mcp example.com",
        ] {
            let e = settings(&[(keys::ALLOWED_HOSTS, host)]).unwrap_err();
            assert_eq!(e.setting, keys::ALLOWED_HOSTS, "{host}");
        }
        for origin in [
            "https://app.example.com/",
            "https://app.example.com/path",
            "app.example.com",
            "null",
        ] {
            let e = settings(&[(keys::ALLOWED_ORIGINS, origin)]).unwrap_err();
            assert_eq!(e.setting, keys::ALLOWED_ORIGINS, "{origin}");
        }
    }

    #[test]
    fn account_visibility_defaults_to_deny_on_aws() {
        let nothing = Visibility::Accounts(BTreeSet::new());
        // The Lambda functions, and serve with Cost Explorer: no mapping, nothing visible.
        let lambda = settings(&[("AWS_LAMBDA_FUNCTION_NAME", "mcp")]).unwrap();
        assert_eq!(sees(&lambda, &["finance"]), nothing);
        let aws = settings(&[("SMCP_COST_SOURCE", "aws")]).unwrap();
        assert_eq!(sees(&aws, &["finance"]), nothing);
        // The template's default value: an empty mapping lets nobody see anything.
        for env in [&[][..], &[("AWS_LAMBDA_FUNCTION_NAME", "mcp")][..]] {
            let mut pairs = env.to_vec();
            pairs.push(("SMCP_ACCOUNT_SCOPES", "{}"));
            assert_eq!(sees(&settings(&pairs).unwrap(), &["finance"]), nothing);
        }
        // The documented grant-everything value.
        let all = settings(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "mcp"),
            ("SMCP_ACCOUNT_SCOPES", r#"{"*":["*"]}"#),
        ])
        .unwrap();
        assert_eq!(sees(&all, &[]), Visibility::All);
        // serve with the sample organisation: everyone sees the sample accounts.
        assert_eq!(sees(&settings(&[]).unwrap(), &[]), Visibility::All);
        let mapped = settings(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "mcp"),
            ("SMCP_ACCOUNT_SCOPES", r#"{"team-a":["111111111111"]}"#),
        ])
        .unwrap();
        assert_eq!(sees(&mapped, &["team-a"]).cache_key(), "111111111111");
        assert_eq!(sees(&mapped, &["team-b"]), nothing);
    }
}
