//! Who logs users in: the embedded page, or a Cognito user pool with its app client.

use super::parse::parse_absolute;
use super::{ConfigError, keys};

/// Where an OpenID provider publishes its discovery document (OpenID Connect Discovery §4).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

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

/// The login settings: `SMCP_LOGIN` and, for Cognito, the pool and app client.
pub(super) fn parse_login(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<LoginConfig, ConfigError> {
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
                Some(url) => {
                    let url = parse_absolute(keys::COGNITO_DISCOVERY_URL, &url)?.to_string();
                    // The issuer to expect is the URL less this path (OpenID Connect
                    // Discovery §4.3): without it there is none.
                    if !url.ends_with(DISCOVERY_PATH) || url.len() == DISCOVERY_PATH.len() {
                        return Err(ConfigError::new(
                            keys::COGNITO_DISCOVERY_URL,
                            format!("{url:?} must end in {DISCOVERY_PATH}"),
                        ));
                    }
                    url
                }
                None => format!(
                    "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}{DISCOVERY_PATH}"
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
