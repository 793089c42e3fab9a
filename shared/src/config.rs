//! Typed configuration, read once at start-up from one lookup function (the environment, or
//! flags layered over it) and validated before anything starts. Nothing else reads the
//! environment.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use url::Url;

mod runtime;

pub use runtime::Runtime;

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

/// Names of the settings (environment variables).
pub mod keys {
    pub const ISSUER: &str = "SMCP_ISSUER";
    pub const RESOURCE: &str = "SMCP_RESOURCE";
    pub const STORE: &str = "SMCP_STORE";
    pub const TABLE: &str = "SMCP_TABLE";
    pub const DATA_DIR: &str = "SMCP_DATA_DIR";
    pub const LOG_FORMAT: &str = "SMCP_LOG_FORMAT";
    /// `tracing` filter directives, e.g. `info,authz=debug`.
    pub const LOG_FILTER: &str = "RUST_LOG";
    pub const ACCESS_TOKEN_TTL: &str = "SMCP_ACCESS_TOKEN_TTL";
    pub const REFRESH_TOKEN_TTL: &str = "SMCP_REFRESH_TOKEN_TTL";
    pub const SIGNING_KEY: &str = "SMCP_SIGNING_KEY";
    /// With a KMS signing key: `kms:<key id>[,kms:<key id>…]`, keys that signed before a switch
    /// and are still published in the JWKS (verification only) until their tokens expire.
    pub const SIGNING_KEY_PREVIOUS: &str = "SMCP_SIGNING_KEY_PREVIOUS";
    pub const REGISTER_RATE_LIMIT: &str = "SMCP_REGISTER_RATE_LIMIT";
    pub const REGISTER_RATE_EXEMPT: &str = "SMCP_REGISTER_RATE_EXEMPT";
    /// `GET /authorize` requests (each may store a pending request) per source and window.
    pub const AUTHORIZE_RATE_LIMIT: &str = "SMCP_AUTHORIZE_RATE_LIMIT";
    pub const CLIENT_IDLE_DAYS: &str = "SMCP_CLIENT_IDLE_DAYS";
    /// Upstream login: `embedded` (default; built-in login page) or `cognito`.
    pub const LOGIN: &str = "SMCP_LOGIN";
    pub const COGNITO_REGION: &str = "SMCP_COGNITO_REGION";
    pub const COGNITO_USER_POOL_ID: &str = "SMCP_COGNITO_USER_POOL_ID";
    /// The managed-login domain, e.g. `https://auth.example.com` or
    /// `https://<prefix>.auth.<region>.amazoncognito.com`.
    pub const COGNITO_DOMAIN: &str = "SMCP_COGNITO_DOMAIN";
    pub const COGNITO_CLIENT_ID: &str = "SMCP_COGNITO_CLIENT_ID";
    pub const COGNITO_CLIENT_SECRET: &str = "SMCP_COGNITO_CLIENT_SECRET";
    /// OIDC discovery document [default: the user pool's, derived from region and pool id].
    pub const COGNITO_DISCOVERY_URL: &str = "SMCP_COGNITO_DISCOVERY_URL";
    /// Key for signing consent and CSRF cookies: 32+ bytes, base64url. Default: a key file in
    /// the data dir (created on first start), else a per-process key.
    pub const COOKIE_KEY: &str = "SMCP_COOKIE_KEY";
    /// Seconds during which the refresh token just replaced is answered without revoking.
    pub const REFRESH_GRACE: &str = "SMCP_REFRESH_GRACE";
    /// Secret the CloudFront distribution adds to every origin request (`x-smcp-origin-secret`);
    /// when set, requests without it are refused and the edge's host/address headers trusted.
    pub const ORIGIN_SECRET: &str = "SMCP_ORIGIN_SECRET";
    /// For local testing only, honoured only by `serverless-mcp serve` (the Lambda refuses to
    /// start with it): a PEM CA file whose certificates are trusted when fetching Client ID
    /// Metadata Documents, which may then also be fetched from loopback addresses.
    pub const CIMD_TEST_CA: &str = "SMCP_CIMD_TEST_CA";
    /// CloudWatch namespace of the metrics the Lambda functions emit (default `ServerlessMcp`;
    /// the template sets one per stack).
    pub const METRICS_NAMESPACE: &str = "SMCP_METRICS_NAMESPACE";
    /// Set by the Lambda runtime; selects JSON logs by default.
    pub const LAMBDA_FUNCTION: &str = "AWS_LAMBDA_FUNCTION_NAME";
}

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

/// The Cognito user pool and its confidential app client (docs/architecture.md, "Policies").
/// Not `PartialEq`: it holds secrets, which compare only in constant time.
#[derive(Debug, Clone)]
pub struct CognitoConfig {
    pub region: String,
    pub user_pool_id: String,
    /// Managed-login origin, no trailing slash.
    pub domain: String,
    pub client_id: String,
    pub client_secret: crate::secret::Secret,
    /// The OIDC discovery document URL.
    pub discovery_url: String,
}

impl CognitoConfig {
    /// The ID token issuer of the pool (`https://cognito-idp.<region>.amazonaws.com/<pool id>`).
    pub fn pool_issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }
}

/// Who logs users in.
/// Not `PartialEq`: it holds secrets, which compare only in constant time.
#[derive(Debug, Clone)]
pub enum LoginConfig {
    /// The built-in login page over users kept (argon2-hashed) in the store.
    Embedded,
    /// Cognito managed login (OIDC code flow with PKCE and nonce).
    Cognito(CognitoConfig),
}

/// A fixed-window request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u64,
    pub window_secs: u64,
}

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
    /// CloudWatch namespace of the functions' metrics (1–255 characters).
    pub metrics_namespace: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
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
        let log_filter = get(keys::LOG_FILTER).unwrap_or_else(|| "info".into());
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
            metrics_namespace,
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

/// An integer setting within bounds, or its default when unset.
fn int_in(
    get: &impl Fn(&str) -> Option<String>,
    key: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    match get(key) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(ConfigError::new(
                key,
                format!("{raw:?} is not a whole number from {min} to {max}"),
            )),
        },
    }
}

/// The previous KMS keys: `kms:<id>` entries, comma-separated, none empty, repeated or equal to
/// the current key. At most [`MAX_PREVIOUS_SIGNING_KEYS`], each read at start-up.
fn parse_previous_kms_keys(
    get: &impl Fn(&str) -> Option<String>,
    current: &str,
) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = get(keys::SIGNING_KEY_PREVIOUS) else {
        return Ok(Vec::new());
    };
    let mut previous: Vec<String> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let key_id = match entry.strip_prefix("kms:") {
            Some(id) if !id.is_empty() && !id.contains(char::is_whitespace) => id,
            _ => {
                return Err(ConfigError::new(
                    keys::SIGNING_KEY_PREVIOUS,
                    format!("{entry:?} is not \"kms:<key id, ARN or alias>\""),
                ));
            }
        };
        if key_id == current {
            return Err(ConfigError::new(
                keys::SIGNING_KEY_PREVIOUS,
                format!("{entry:?} is the current signing key"),
            ));
        }
        if previous.iter().any(|p| p == key_id) {
            return Err(ConfigError::new(
                keys::SIGNING_KEY_PREVIOUS,
                format!("{entry:?} is listed twice"),
            ));
        }
        previous.push(key_id.to_owned());
    }
    if previous.len() > MAX_PREVIOUS_SIGNING_KEYS {
        return Err(ConfigError::new(
            keys::SIGNING_KEY_PREVIOUS,
            format!("at most {MAX_PREVIOUS_SIGNING_KEYS} keys (each is read at start-up)"),
        ));
    }
    Ok(previous)
}

/// How many previous KMS signing keys may be published at once.
pub const MAX_PREVIOUS_SIGNING_KEYS: usize = 4;

fn parse_rate(raw: &str) -> Option<RateLimit> {
    let (max, window) = raw.split_once('/')?;
    let max = max.trim().parse().ok()?;
    let window_secs = window.trim().parse().ok().filter(|w| *w > 0)?;
    Some(RateLimit { max, window_secs })
}

/// Whether an http URL is allowed for this host: loopback only.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn parse_absolute(setting: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw)
        .map_err(|_| ConfigError::new(setting, format!("{raw:?} is not an absolute URL")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(ConfigError::new(
                setting,
                format!("{raw:?} uses http on a non-loopback host (https required)"),
            ));
        }
        _ => {
            return Err(ConfigError::new(
                setting,
                format!("{raw:?} must be an https URL"),
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            setting,
            format!("{raw:?} must not have a query or fragment"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            setting,
            format!("{raw:?} must not contain user information"),
        ));
    }
    Ok(url)
}

fn parse_issuer(raw: &str) -> Result<String, ConfigError> {
    parse_absolute(keys::ISSUER, raw)?;
    if raw.ends_with('/') {
        return Err(ConfigError::new(
            keys::ISSUER,
            format!("{raw:?} must not end with a slash"),
        ));
    }
    Ok(raw.to_owned())
}

fn parse_resource(raw: &str) -> Result<String, ConfigError> {
    parse_absolute(keys::RESOURCE, raw)?;
    Ok(raw.to_owned())
}

fn parse_login(get: &impl Fn(&str) -> Option<String>) -> Result<LoginConfig, ConfigError> {
    match get(keys::LOGIN).as_deref() {
        None | Some("embedded") => Ok(LoginConfig::Embedded),
        Some("cognito") => {
            let need = |key: &'static str| {
                get(key).ok_or_else(|| {
                    ConfigError::new(key, "not set (required with SMCP_LOGIN=cognito)")
                })
            };
            let region = need(keys::COGNITO_REGION)?;
            if !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(ConfigError::new(
                    keys::COGNITO_REGION,
                    format!("{region:?} is not an AWS region"),
                ));
            }
            let user_pool_id = need(keys::COGNITO_USER_POOL_ID)?;
            if !user_pool_id.starts_with(&format!("{region}_")) {
                return Err(ConfigError::new(
                    keys::COGNITO_USER_POOL_ID,
                    format!("{user_pool_id:?} is not a pool id of region {region} (<region>_<id>)"),
                ));
            }
            let domain = need(keys::COGNITO_DOMAIN)?;
            let domain_url = parse_absolute(keys::COGNITO_DOMAIN, domain.trim_end_matches('/'))?;
            let domain = domain_url.as_str().trim_end_matches('/').to_owned();
            let client_id = need(keys::COGNITO_CLIENT_ID)?;
            let client_secret = crate::secret::Secret::new(need(keys::COGNITO_CLIENT_SECRET)?);
            let discovery_url = match get(keys::COGNITO_DISCOVERY_URL) {
                Some(url) => parse_absolute(keys::COGNITO_DISCOVERY_URL, &url)?.to_string(),
                None => format!(
                    "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}/.well-known/openid-configuration"
                ),
            };
            Ok(LoginConfig::Cognito(CognitoConfig {
                region,
                user_pool_id,
                domain,
                client_id,
                client_secret,
                discovery_url,
            }))
        }
        Some(other) => Err(ConfigError::new(
            keys::LOGIN,
            format!("unknown login {other:?} (expected \"embedded\" or \"cognito\")"),
        )),
    }
}

fn validate_table_name(name: &str) -> Result<(), ConfigError> {
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            keys::TABLE,
            format!("{name:?} is not a valid DynamoDB table name"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 2] = [
        (keys::ISSUER, "https://auth.example.com"),
        (keys::RESOURCE, "https://mcp.example.com/mcp"),
    ];

    #[test]
    fn defaults_to_sqlite_under_data_dir_with_pretty_logs() {
        let config = load(&BASE).unwrap();
        assert_eq!(
            config.store,
            StoreConfig::Sqlite {
                path: PathBuf::from(".data/state.db")
            }
        );
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(
            config.authorize_rate_limit,
            RateLimit {
                max: 120,
                window_secs: 300
            }
        );
        assert_eq!(
            config.protected_resource_metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn lambda_defaults_to_json_logs() {
        let mut pairs = BASE.to_vec();
        pairs.push((keys::LAMBDA_FUNCTION, "authz"));
        assert_eq!(load(&pairs).unwrap().log_format, LogFormat::Json);
    }

    #[test]
    fn each_bad_setting_is_named() {
        let cases: &[(&str, &[(&str, &str)], &str)] = &[
            (
                "missing issuer",
                &[(keys::RESOURCE, "https://m/mcp")],
                keys::ISSUER,
            ),
            (
                "http issuer off loopback",
                &[
                    (keys::ISSUER, "http://auth.example.com"),
                    (keys::RESOURCE, "https://m/mcp"),
                ],
                keys::ISSUER,
            ),
            (
                "trailing slash",
                &[
                    (keys::ISSUER, "https://auth.example.com/"),
                    (keys::RESOURCE, "https://m/mcp"),
                ],
                keys::ISSUER,
            ),
            (
                "relative resource",
                &[(keys::ISSUER, "https://a"), (keys::RESOURCE, "/mcp")],
                keys::RESOURCE,
            ),
            (
                "resource with fragment",
                &[
                    (keys::ISSUER, "https://a"),
                    (keys::RESOURCE, "https://m/mcp#x"),
                ],
                keys::RESOURCE,
            ),
            (
                "unknown store",
                &[
                    (keys::ISSUER, "https://a"),
                    (keys::RESOURCE, "https://m/mcp"),
                    (keys::STORE, "redis"),
                ],
                keys::STORE,
            ),
            (
                "dynamo without table",
                &[
                    (keys::ISSUER, "https://a"),
                    (keys::RESOURCE, "https://m/mcp"),
                    (keys::STORE, "dynamodb"),
                ],
                keys::TABLE,
            ),
            (
                "bad table name",
                &[
                    (keys::ISSUER, "https://a"),
                    (keys::RESOURCE, "https://m/mcp"),
                    (keys::STORE, "dynamodb"),
                    (keys::TABLE, "no spaces allowed"),
                ],
                keys::TABLE,
            ),
            (
                "bad log format",
                &[
                    (keys::ISSUER, "https://a"),
                    (keys::RESOURCE, "https://m/mcp"),
                    (keys::LOG_FORMAT, "xml"),
                ],
                keys::LOG_FORMAT,
            ),
        ];
        for (what, pairs, setting) in cases {
            let err = load(pairs).expect_err(what);
            assert_eq!(err.setting, *setting, "{what}");
            assert!(err.to_string().starts_with(setting), "{what}: {err}");
        }
    }

    #[test]
    fn authz_settings_parse_and_are_bounded() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            (keys::ACCESS_TOKEN_TTL, "600"),
            (keys::SIGNING_KEY, "kms:alias/mcp-signing"),
            (keys::REGISTER_RATE_LIMIT, "10/60"),
            (keys::REGISTER_RATE_EXEMPT, "160.79.104.0/21, 2001:db8::1"),
            (keys::AUTHORIZE_RATE_LIMIT, "30/60"),
        ]);
        let config = load(&pairs).unwrap();
        assert_eq!(config.access_token_ttl, 600);
        assert_eq!(
            config.signing_key,
            SigningKeyConfig::Kms {
                key_id: "alias/mcp-signing".into(),
                previous: vec![]
            }
        );
        assert_eq!(
            config.register_rate_limit,
            RateLimit {
                max: 10,
                window_secs: 60
            }
        );
        assert_eq!(config.register_rate_exempt.len(), 2);
        assert_eq!(
            config.authorize_rate_limit,
            RateLimit {
                max: 30,
                window_secs: 60
            }
        );
        for (key, bad) in [
            (keys::ACCESS_TOKEN_TTL, "7200"),
            (keys::SIGNING_KEY, "kms:"),
            (keys::REGISTER_RATE_LIMIT, "10 per minute"),
            (keys::REGISTER_RATE_EXEMPT, "10.0.0.0/33"),
            (keys::AUTHORIZE_RATE_LIMIT, "120"),
            (keys::CLIENT_IDLE_DAYS, "0"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((key, bad));
            assert_eq!(load(&pairs).unwrap_err().setting, key, "{bad}");
        }
    }

    #[test]
    fn previous_kms_signing_keys_parse_and_are_validated() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            (keys::SIGNING_KEY, "kms:alias/mcp-signing"),
            (
                keys::SIGNING_KEY_PREVIOUS,
                " kms:1234abcd-12ab-34cd-56ef-1234567890ab, kms:arn:aws:kms:us-east-1:111122223333:key/old ,",
            ),
        ]);
        assert_eq!(
            load(&pairs).unwrap().signing_key,
            SigningKeyConfig::Kms {
                key_id: "alias/mcp-signing".into(),
                previous: vec![
                    "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
                    "arn:aws:kms:us-east-1:111122223333:key/old".into()
                ]
            }
        );
        for (what, signing, previous) in [
            ("not kms:", "kms:new", "old-key"),
            ("empty id", "kms:new", "kms:"),
            ("the current key", "kms:new", "kms:old,kms:new"),
            ("twice", "kms:new", "kms:old,kms:old"),
            ("too many", "kms:new", "kms:a,kms:b,kms:c,kms:d,kms:e"),
            ("with a local key", "local", "kms:old"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.extend([
                (keys::SIGNING_KEY, signing),
                (keys::SIGNING_KEY_PREVIOUS, previous),
            ]);
            assert_eq!(
                load(&pairs).unwrap_err().setting,
                keys::SIGNING_KEY_PREVIOUS,
                "{what}"
            );
        }
    }

    #[test]
    fn loopback_http_is_allowed() {
        for issuer in [
            "http://127.0.0.1:8080",
            "http://localhost:9",
            "http://[::1]:8080",
        ] {
            let config = load(&[
                (keys::ISSUER, issuer),
                (keys::RESOURCE, "http://127.0.0.1:8080/mcp"),
            ]);
            assert!(config.is_ok(), "{issuer}");
        }
    }

    #[test]
    fn login_cookie_key_and_grace_settings() {
        let config = load(&BASE).unwrap();
        assert!(matches!(config.login, LoginConfig::Embedded));
        assert!(config.cookie_key.is_none());
        assert_eq!(config.refresh_grace_secs, 60);

        let mut pairs = BASE.to_vec();
        pairs.extend([
            (keys::LOGIN, "cognito"),
            (keys::COGNITO_REGION, "eu-west-1"),
            (keys::COGNITO_USER_POOL_ID, "eu-west-1_AbC123"),
            (keys::COGNITO_DOMAIN, "https://login.example.com/"),
            (keys::COGNITO_CLIENT_ID, "client"),
            (keys::COGNITO_CLIENT_SECRET, "secret"),
            (
                keys::COOKIE_KEY,
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            ),
            (keys::REFRESH_GRACE, "0"),
        ]);
        let config = load(&pairs).unwrap();
        let LoginConfig::Cognito(cognito) = &config.login else {
            panic!("cognito expected");
        };
        assert_eq!(cognito.domain, "https://login.example.com");
        assert_eq!(
            cognito.discovery_url,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/openid-configuration"
        );
        assert_eq!(
            cognito.pool_issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
        );
        assert_eq!(format!("{:?}", cognito.client_secret), "[redacted]");
        assert!(config.cookie_key.is_some());
        assert_eq!(config.refresh_grace_secs, 0);

        for (key, bad) in [
            (keys::LOGIN, "ldap"),
            (keys::COOKIE_KEY, "c2hvcnQ"),
            (keys::REFRESH_GRACE, "3600"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((key, bad));
            assert_eq!(load(&pairs).unwrap_err().setting, key, "{bad}");
        }
        let mut missing = BASE.to_vec();
        missing.extend([
            (keys::LOGIN, "cognito"),
            (keys::COGNITO_REGION, "eu-west-1"),
        ]);
        assert_eq!(
            load(&missing).unwrap_err().setting,
            keys::COGNITO_USER_POOL_ID
        );
        let mut wrong_pool = BASE.to_vec();
        wrong_pool.extend([
            (keys::LOGIN, "cognito"),
            (keys::COGNITO_REGION, "eu-west-1"),
            (keys::COGNITO_USER_POOL_ID, "us-east-1_X"),
        ]);
        assert_eq!(
            load(&wrong_pool).unwrap_err().setting,
            keys::COGNITO_USER_POOL_ID
        );
    }

    #[test]
    fn metrics_namespace_defaults_and_is_checked() {
        assert_eq!(load(&BASE).unwrap().metrics_namespace, "ServerlessMcp");
        let mut pairs = BASE.to_vec();
        pairs.push((keys::METRICS_NAMESPACE, "ServerlessMcp/prod-stack"));
        assert_eq!(
            load(&pairs).unwrap().metrics_namespace,
            "ServerlessMcp/prod-stack"
        );
        for bad in [":aws", "a\"b", "x".repeat(256).as_str()] {
            let mut pairs = BASE.to_vec();
            pairs.push((keys::METRICS_NAMESPACE, bad));
            assert_eq!(load(&pairs).unwrap_err().setting, keys::METRICS_NAMESPACE);
        }
    }

    #[test]
    fn cimd_test_ca_is_an_optional_path() {
        assert_eq!(load(&BASE).unwrap().cimd_test_ca, None);
        let mut pairs = BASE.to_vec();
        pairs.push((keys::CIMD_TEST_CA, "  "));
        assert_eq!(load(&pairs).unwrap().cimd_test_ca, None);
        let mut pairs = BASE.to_vec();
        pairs.push((keys::CIMD_TEST_CA, "/tmp/cimd-ca.pem"));
        assert_eq!(
            load(&pairs).unwrap().cimd_test_ca,
            Some(PathBuf::from("/tmp/cimd-ca.pem"))
        );
    }

    #[test]
    fn dynamo_store_is_selected_by_name() {
        let mut pairs = BASE.to_vec();
        pairs.push((keys::STORE, "dynamodb"));
        pairs.push((keys::TABLE, "mcp-auth"));
        assert_eq!(
            load(&pairs).unwrap().store,
            StoreConfig::Dynamo {
                table: "mcp-auth".into()
            }
        );
    }
}
