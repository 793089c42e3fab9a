//! Typed configuration, read once at start-up from one lookup function (the environment, or
//! flags layered over it) and validated before anything starts. Nothing else reads the
//! environment.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use url::Url;

mod admission;
mod login;
mod parse;
mod runtime;

pub use admission::{Documents, HostList, Registration};
use login::parse_login;
pub use login::{CognitoConfig, DISCOVERY_PATH, LoginConfig};
pub use parse::MAX_PREVIOUS_SIGNING_KEYS;
use parse::{
    int_in, parse_issuer, parse_previous_kms_keys, parse_rate, parse_resource, parse_scopes,
    validate_table_name,
};
pub use runtime::{Function, Runtime};

/// Where state is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded SQLite file.
    Sqlite { path: PathBuf },
    /// The DynamoDB single table.
    Dynamo { table: String },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable (local use).
    Pretty,
    /// One JSON object per line (Lambda, CloudWatch).
    Json,
}

/// A setting that is missing or wrong: names the setting and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(setting: &'static str, problem: impl fmt::Display) -> Self {
        Self {
            setting,
            problem: problem.to_string(),
        }
    }
}

pub mod keys;

/// Where access tokens are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeyConfig {
    /// An RSA-2048 key generated on first start and kept as PEM in the data dir.
    Local,
    /// An AWS KMS asymmetric key (RSA_2048, SIGN_VERIFY), by key id, ARN or alias; `previous`
    /// names keys that signed before a switch, published (never used to sign) so the tokens
    /// they signed verify until they expire.
    Kms {
        key_id: String,
        previous: Vec<String>,
    },
}

/// A fixed-window request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u64,
    pub window_secs: u64,
}

/// The log filter without `RUST_LOG`: `info`, but rmcp's own chatter (three `info` lines for every
/// MCP request it serves: "Service initialized", "input stream terminated", "serve finished")
/// only from `warn`; each request is still logged once, with its status and latency.
pub const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn";

/// Settings shared by both servers.
/// Not `PartialEq`: it holds secrets, which compare only in constant time.
#[derive(Debug, Clone)]
pub struct Config {
    /// The authorization server's issuer identifier: absolute, no trailing slash.
    pub issuer: String,
    /// The MCP server's canonical resource URL (RFC 8707, RFC 9728).
    pub resource: String,
    pub store: StoreConfig,
    /// Where the embedded store and keys live (created on first start).
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    /// `tracing` filter directives (default `info`).
    pub log_filter: String,
    /// Access token lifetime in seconds (60..=3600, default 3600).
    pub access_token_ttl: i64,
    /// Refresh token family lifetime in seconds (default 30 days).
    pub refresh_token_ttl: i64,
    pub signing_key: SigningKeyConfig,
    /// Registrations allowed per source address and window.
    pub register_rate_limit: RateLimit,
    /// Source ranges exempt from the registration limit (e.g. a shared egress range).
    pub register_rate_exempt: Vec<ipnet::IpNet>,
    /// `GET /authorize` requests allowed per source address and window (default 120/300).
    pub authorize_rate_limit: RateLimit,
    /// Dynamically registered clients never used expire this many days after registration;
    /// each use renews the period.
    pub client_idle_days: i64,
    pub login: LoginConfig,
    /// Explicit cookie-signing key (decoded), if configured.
    pub cookie_key: Option<crate::secret::Secret>,
    /// Grace window for the refresh token just replaced, in seconds (0..=300, default 60).
    pub refresh_grace_secs: i64,
    /// The edge's origin secret (16+ characters), when the functions sit behind CloudFront.
    pub origin_secret: Option<crate::secret::Secret>,
    /// Local testing only (`serve`): a PEM CA trusted for Client ID Metadata Documents, which
    /// may then be fetched from loopback too. The Lambda refuses to start when it is set.
    pub cimd_test_ca: Option<PathBuf>,
    /// Local testing only, with `cimd_test_ca`: host names whose document fetches connect to
    /// these loopback addresses instead of resolving.
    pub cimd_test_resolve: Vec<(String, std::net::SocketAddr)>,
    /// Who may register at `/register`.
    pub registration: Registration,
    /// Which Client ID Metadata Documents are accepted.
    pub documents: Documents,
    /// CloudWatch namespace of the functions' metrics (1–255 characters).
    pub metrics_namespace: String,
    /// The scopes offered (`SMCP_SCOPES`, `SMCP_SCOPE_DESCRIPTIONS`), the baseline first.
    pub scopes: crate::oauth::scope::ScopeCatalogue,
}

/// The process environment as a lookup: the one way settings are read on the Lambda
/// functions (`Config::from_lookup(env::var)`, and the same for the MCP server's settings).
pub mod env {
    /// The variable's value, if set and valid Unicode.
    pub fn var(key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env::var)
    }

    /// Reads settings through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let issuer = get(keys::ISSUER).ok_or_else(|| ConfigError::new(keys::ISSUER, "not set"))?;
        let issuer = parse_issuer(&issuer)?;
        let resource =
            get(keys::RESOURCE).ok_or_else(|| ConfigError::new(keys::RESOURCE, "not set"))?;
        let resource = parse_resource(&resource)?;
        let data_dir = PathBuf::from(get(keys::DATA_DIR).unwrap_or_else(|| ".data".into()));
        let store = match get(keys::STORE).as_deref().unwrap_or("sqlite") {
            "sqlite" => StoreConfig::Sqlite {
                path: data_dir.join("state.db"),
            },
            "dynamodb" => {
                let table = get(keys::TABLE).ok_or_else(|| {
                    ConfigError::new(keys::TABLE, "not set (required with SMCP_STORE=dynamodb)")
                })?;
                validate_table_name(&table)?;
                StoreConfig::Dynamo { table }
            }
            other => {
                return Err(ConfigError::new(
                    keys::STORE,
                    format!("unknown store {other:?} (expected \"sqlite\" or \"dynamodb\")"),
                ));
            }
        };
        let log_format = match get(keys::LOG_FORMAT).as_deref() {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError::new(
                    keys::LOG_FORMAT,
                    format!("unknown format {other:?} (expected \"json\" or \"pretty\")"),
                ));
            }
            None if get(keys::LAMBDA_FUNCTION).is_some() => LogFormat::Json,
            None => LogFormat::Pretty,
        };
        let log_filter = get(keys::LOG_FILTER).unwrap_or_else(|| DEFAULT_LOG_FILTER.into());
        tracing_subscriber::EnvFilter::try_new(&log_filter).map_err(|_| {
            ConfigError::new(
                keys::LOG_FILTER,
                format!("{log_filter:?} is not a valid filter"),
            )
        })?;
        let access_token_ttl = int_in(
            &get,
            keys::ACCESS_TOKEN_TTL,
            crate::token::MAX_ACCESS_TOKEN_TTL_SECS,
            60,
            crate::token::MAX_ACCESS_TOKEN_TTL_SECS,
        )?;
        let refresh_token_ttl = int_in(
            &get,
            keys::REFRESH_TOKEN_TTL,
            30 * 86_400,
            300,
            365 * 86_400,
        )?;
        let signing_key = match get(keys::SIGNING_KEY).as_deref() {
            None | Some("local") => SigningKeyConfig::Local,
            Some(other) => match other.strip_prefix("kms:") {
                Some(key_id) if !key_id.is_empty() => SigningKeyConfig::Kms {
                    key_id: key_id.to_owned(),
                    previous: parse_previous_kms_keys(&get, key_id)?,
                },
                _ => {
                    return Err(ConfigError::new(
                        keys::SIGNING_KEY,
                        format!(
                            "{other:?} is neither \"local\" nor \"kms:<key id, ARN or alias>\""
                        ),
                    ));
                }
            },
        };
        if matches!(signing_key, SigningKeyConfig::Local)
            && get(keys::SIGNING_KEY_PREVIOUS).is_some()
        {
            return Err(ConfigError::new(
                keys::SIGNING_KEY_PREVIOUS,
                "only with a KMS signing key (the local key keeps its previous key in the data dir)",
            ));
        }
        let register_rate_limit = match get(keys::REGISTER_RATE_LIMIT) {
            None => RateLimit {
                max: 300,
                window_secs: 3600,
            },
            Some(raw) => parse_rate(&raw).ok_or_else(|| {
                ConfigError::new(
                    keys::REGISTER_RATE_LIMIT,
                    format!("{raw:?} is not <count>/<seconds>, e.g. 300/3600"),
                )
            })?,
        };
        let authorize_rate_limit = match get(keys::AUTHORIZE_RATE_LIMIT) {
            None => RateLimit {
                max: 120,
                window_secs: 300,
            },
            Some(raw) => parse_rate(&raw).ok_or_else(|| {
                ConfigError::new(
                    keys::AUTHORIZE_RATE_LIMIT,
                    format!("{raw:?} is not <count>/<seconds>, e.g. 120/300"),
                )
            })?,
        };
        let register_rate_exempt = match get(keys::REGISTER_RATE_EXEMPT) {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|cidr| {
                    cidr.parse::<ipnet::IpNet>()
                        .or_else(|_| cidr.parse::<IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            ConfigError::new(
                                keys::REGISTER_RATE_EXEMPT,
                                format!("{cidr:?} is not an address or CIDR range"),
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let client_idle_days = int_in(&get, keys::CLIENT_IDLE_DAYS, 30, 1, 3650)?;
        let login = parse_login(&get)?;
        let cookie_key = match get(keys::COOKIE_KEY) {
            None => None,
            Some(raw) => {
                use base64::Engine as _;
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(raw.trim().trim_end_matches('='))
                    .ok()
                    .filter(|k| k.len() >= 32)
                    .ok_or_else(|| {
                        ConfigError::new(
                            keys::COOKIE_KEY,
                            "must be at least 32 bytes, base64url-encoded",
                        )
                    })?;
                Some(crate::secret::Secret::new(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(decoded),
                ))
            }
        };
        let refresh_grace_secs = int_in(&get, keys::REFRESH_GRACE, 60, 0, 300)?;
        let origin_secret = match get(keys::ORIGIN_SECRET) {
            None => None,
            Some(raw) if raw.len() >= 16 && raw.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(crate::secret::Secret::new(raw))
            }
            Some(_) => {
                return Err(ConfigError::new(
                    keys::ORIGIN_SECRET,
                    "must be at least 16 printable characters",
                ));
            }
        };
        let cimd_test_ca = get(keys::CIMD_TEST_CA).map(PathBuf::from);
        let cimd_test_resolve = admission::parse_test_resolve(&get, cimd_test_ca.is_some())?;
        let registration = admission::parse_registration(&get)?;
        let documents = admission::parse_documents(&get)?;
        let metrics_namespace = get(keys::METRICS_NAMESPACE)
            .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.into());
        if metrics_namespace.len() > 255
            || metrics_namespace.starts_with(':')
            || !metrics_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
        {
            return Err(ConfigError::new(
                keys::METRICS_NAMESPACE,
                "use at most 255 letters, digits, spaces and . - _ / # : (not starting with :)",
            ));
        }
        let scopes = parse_scopes(&get)?;
        Ok(Self {
            issuer,
            resource,
            store,
            data_dir,
            log_format,
            log_filter,
            access_token_ttl,
            refresh_token_ttl,
            signing_key,
            register_rate_limit,
            register_rate_exempt,
            authorize_rate_limit,
            client_idle_days,
            login,
            cookie_key,
            refresh_grace_secs,
            origin_secret,
            cimd_test_ca,
            cimd_test_resolve,
            registration,
            documents,
            metrics_namespace,
            scopes,
        })
    }

    /// URL of an authorization-server path (`path` starts with `/`).
    pub fn issuer_url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The RFC 9728 metadata URL for the resource: the well-known segment inserted before the
    /// resource's path.
    pub fn protected_resource_metadata_url(&self) -> String {
        match Url::parse(&self.resource) {
            Ok(url) => {
                let path = url.path().trim_end_matches('/');
                format!(
                    "{}/.well-known/oauth-protected-resource{path}",
                    url.origin().ascii_serialization()
                )
            }
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests;
