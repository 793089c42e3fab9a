//! Cognito managed login (docs/architecture.md, the login adapters): the OIDC authorization code
//! flow with PKCE and a nonce against the user pool's domain, one confidential app client
//! authenticated with `client_secret_basic`, the discovery document's `issuer` checked (OpenID
//! Connect Discovery §4.3), and the ID token verified against the pool's JWKS (signature RS256,
//! `iss`, `aud`, `exp`, `nonce`, `token_use` = `id`). The login's refresh token is kept, sealed,
//! with the grant; at refresh ([`directory`]) redeeming it again (RFC 6749 §6) tells whether the
//! user was signed out upstream since, and the Cognito admin API whether the user still exists, is
//! enabled and confirmed (`AdminGetUser`) and which groups it has (`AdminListGroupsForUser`).

pub mod directory;
mod id_token;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;

use serde::Deserialize;
use shared::clock::Clock;
use shared::config::{CognitoConfig, DISCOVERY_PATH};
use shared::oauth::pkce::{CodeChallenge, CodeVerifier};
use shared::secret::Secret;
use shared::store::{GrantRecord, PendingAuthorization};
use shared::token::{FailedFetch, RefreshingKeys};
use tokio::sync::OnceCell;

use self::id_token::Discovery;
use super::session::SessionSeal;
use super::{IdentityProvider, UpstreamError, UpstreamIdentity};

pub use directory::CognitoDirectory;

/// Upstream HTTP calls give up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Scopes asked of the pool.
const UPSTREAM_SCOPE: &str = "openid email profile";
/// The `token_use` Cognito puts in its ID tokens (its access tokens say `access`).
const ID_TOKEN_USE: &str = "id";

/// The HTTP client of every upstream call, from `builder`: a timeout, and no redirect followed
/// (an endpoint that redirects is refused, so neither a code nor the client secret is sent
/// where a redirect points). If it cannot be built so, there is no client: never a default one
/// without the timeout and the policy.
pub fn http_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, UpstreamError> {
    builder
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| UpstreamError::Unavailable("cannot build the upstream HTTP client".into()))
}

/// The issuer the discovery document (and so every ID token) must name: the discovery URL less
/// `/.well-known/openid-configuration` (OpenID Connect Discovery §4.3). With the default
/// discovery URL that is the pool's issuer, `https://cognito-idp.<region>.amazonaws.com/<pool>`.
pub fn expected_issuer(config: &CognitoConfig) -> Result<String, UpstreamError> {
    config
        .discovery_url
        .strip_suffix(DISCOVERY_PATH)
        .filter(|issuer| !issuer.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            UpstreamError::Unavailable(format!(
                "the discovery URL does not end in {DISCOVERY_PATH}: no issuer to expect"
            ))
        })
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    /// A secret: sealed at once, never logged.
    #[serde(default)]
    refresh_token: Option<String>,
}

/// An RFC 6749 §5.2 error answer.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

/// The Cognito identity provider.
pub struct CognitoLogin {
    config: CognitoConfig,
    /// What the discovery document's and the ID tokens' `iss` must be.
    issuer: String,
    redirect_uri: String,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    seal: SessionSeal,
    discovery: OnceCell<Discovery>,
    /// The pool's keys, refetched by the shared rule; a failed fetch is retried at the next login.
    jwks: RefreshingKeys<JwkSet>,
}

impl CognitoLogin {
    /// `redirect_uri` is our `/callback`, registered as the app client's only callback; `seal`
    /// seals the login's refresh token for the grant. Fails when the HTTP client cannot be
    /// built with its timeout and redirect policy, or no issuer can be expected.
    pub fn new(
        config: CognitoConfig,
        redirect_uri: String,
        clock: Arc<dyn Clock>,
        seal: SessionSeal,
    ) -> Result<Self, UpstreamError> {
        Self::with_http(
            config,
            redirect_uri,
            clock,
            seal,
            reqwest::Client::builder(),
        )
    }

    /// As [`CognitoLogin::new`], the HTTP client built from `builder` (tests).
    pub fn with_http(
        config: CognitoConfig,
        redirect_uri: String,
        clock: Arc<dyn Clock>,
        seal: SessionSeal,
        builder: reqwest::ClientBuilder,
    ) -> Result<Self, UpstreamError> {
        Ok(Self {
            issuer: expected_issuer(&config)?,
            http: http_client(builder)?,
            config,
            redirect_uri,
            clock,
            seal,
            discovery: OnceCell::new(),
            jwks: RefreshingKeys::new(FailedFetch::Retried),
        })
    }

    fn basic_auth(&self) -> String {
        let encode =
            |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            encode(&self.config.client_id),
            encode(self.config.client_secret.expose())
        );
        format!("Basic {}", STANDARD.encode(pair))
    }

    /// Whether the upstream session sealed with `grant` still stands: its refresh token is
    /// redeemed at the token endpoint (RFC 6749 §6). Cognito refuses it with `invalid_grant`
    /// once the user signed out globally (`AdminUserGlobalSignOut`, `GlobalSignOut`), the token
    /// was revoked (`RevokeToken`) or it expired; a session sealed under another cookie key, or
    /// for another user or client, does not stand either. An outage or our own client being
    /// refused is [`UpstreamError::Unavailable`], never a verdict on the user.
    pub async fn session_stands(
        &self,
        sealed: &str,
        grant: &GrantRecord,
    ) -> Result<bool, UpstreamError> {
        let Some(token) = self.seal.open(sealed, &grant.sub, grant.client_id.as_str()) else {
            tracing::warn!("the upstream session of a grant does not open (cookie key changed?)");
            return Ok(false);
        };
        let discovery = self.discovery().await?;
        let answer = self
            .http
            .post(&discovery.token_endpoint)
            .header(reqwest::header::AUTHORIZATION, self.basic_auth())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.expose()),
            ])
            .send()
            .await
            .map_err(|e| unavailable("token endpoint", &e))?;
        let status = answer.status();
        if status.is_success() {
            // Cognito answers new ID and access tokens, unused here. A new refresh token means
            // the app client rotates them, which would end this session: say so.
            let rotated = answer
                .json::<TokenAnswer>()
                .await
                .ok()
                .and_then(|t| t.refresh_token)
                .is_some_and(|t| !Secret::new(t).ct_eq(&token));
            if rotated {
                tracing::error!(
                    "the Cognito app client rotates refresh tokens; turn rotation off, or grants \
                     end when the old token lapses"
                );
            }
            return Ok(true);
        }
        if status.is_server_error() {
            return Err(UpstreamError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        let error = answer.json::<ErrorAnswer>().await.ok().map(|e| e.error);
        match error.as_deref() {
            Some("invalid_grant") => Ok(false),
            other => Err(UpstreamError::Unavailable(format!(
                "token endpoint refused the session check: {status} {}",
                other
                    .filter(|e| e.len() <= 40 && e.bytes().all(|b| b.is_ascii_graphic()))
                    .unwrap_or("(no error code)")
            ))),
        }
    }
}

fn unavailable(what: &str, error: &reqwest::Error) -> UpstreamError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_decode() {
        "malformed answer"
    } else {
        "request failed"
    };
    UpstreamError::Unavailable(format!("{what}: {kind}"))
}

#[async_trait]
impl IdentityProvider for CognitoLogin {
    async fn login_url(&self, pending: &PendingAuthorization) -> Result<String, UpstreamError> {
        let discovery = self.discovery().await?;
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|_| UpstreamError::Unavailable("bad authorization_endpoint".into()))?;
        let verifier = CodeVerifier::parse(&pending.upstream_verifier)
            .map_err(|_| UpstreamError::Unavailable("bad upstream verifier".into()))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", UPSTREAM_SCOPE)
            .append_pair("state", &pending.id)
            .append_pair("nonce", &pending.upstream_nonce)
            .append_pair(
                "code_challenge",
                CodeChallenge::for_verifier(&verifier).as_str(),
            )
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    async fn exchange(
        &self,
        code: &str,
        pending: &PendingAuthorization,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let discovery = self.discovery().await?;
        let answer = self
            .http
            .post(&discovery.token_endpoint)
            .header(reqwest::header::AUTHORIZATION, self.basic_auth())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", &pending.upstream_verifier),
            ])
            .send()
            .await
            .map_err(|e| unavailable("token endpoint", &e))?;
        let status = answer.status();
        if status.is_server_error() {
            return Err(UpstreamError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(UpstreamError::Rejected("the upstream refused the code"));
        }
        let tokens: TokenAnswer = answer
            .json()
            .await
            .map_err(|e| unavailable("token answer", &e))?;
        let id_token = tokens.id_token.ok_or(UpstreamError::Rejected(
            "no ID token in the upstream answer",
        ))?;
        let claims = self
            .verify_id_token(discovery, &id_token, &pending.upstream_nonce)
            .await?;
        let session = match tokens.refresh_token {
            Some(token) => Some(
                self.seal
                    .seal(&Secret::new(token), &claims.sub, pending.client_id.as_str())
                    .ok_or_else(|| UpstreamError::Unavailable("cannot seal the session".into()))?,
            ),
            None => None,
        };
        Ok(UpstreamIdentity {
            sub: claims.sub,
            username: claims.username,
            email: claims.email,
            groups: claims.groups,
            session,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(discovery_url: &str) -> CognitoConfig {
        CognitoConfig {
            region: "eu-west-1".into(),
            user_pool_id: "eu-west-1_AbC123".into(),
            domain: "https://login.example.com".into(),
            client_id: "client".into(),
            client_secret: Secret::new("secret"),
            discovery_url: discovery_url.into(),
        }
    }

    fn seal() -> SessionSeal {
        SessionSeal::new(&[1; 32]).unwrap()
    }

    /// A client builder that cannot be built (no TLS version left): the login refuses to exist
    /// rather than fall back to a default client without the timeout and redirect policy.
    #[test]
    fn no_upstream_client_without_its_timeout_and_redirect_policy() {
        let unbuildable = reqwest::Client::builder()
            .min_tls_version(reqwest::tls::Version::TLS_1_3)
            .max_tls_version(reqwest::tls::Version::TLS_1_2);
        let cognito = config(
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/openid-configuration",
        );
        let clock: Arc<dyn Clock> = Arc::new(shared::clock::SystemClock);
        let refused = CognitoLogin::with_http(
            cognito.clone(),
            "https://auth.example.com/callback".into(),
            clock.clone(),
            seal(),
            unbuildable,
        );
        assert!(
            matches!(&refused, Err(UpstreamError::Unavailable(why)) if why.contains("HTTP client")),
            "{:?}",
            refused.err()
        );
        assert!(
            CognitoLogin::new(
                cognito,
                "https://auth.example.com/callback".into(),
                clock,
                seal()
            )
            .is_ok()
        );
    }

    #[test]
    fn the_expected_issuer_is_the_pools_or_the_configured_discoverys() {
        let pool = config(
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/openid-configuration",
        );
        assert_eq!(expected_issuer(&pool).unwrap(), pool.pool_issuer());
        assert_eq!(
            expected_issuer(&config(
                "http://127.0.0.1:4444/.well-known/openid-configuration"
            ))
            .unwrap(),
            "http://127.0.0.1:4444"
        );
        for bad in [
            "https://idp.example.com/openid-configuration",
            "/.well-known/openid-configuration",
        ] {
            assert!(expected_issuer(&config(bad)).is_err(), "{bad}");
        }
    }
}
