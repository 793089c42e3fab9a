//! Cognito managed login (DESIGN section 4): the OIDC authorization code flow with PKCE and a
//! nonce against the user pool's domain, one confidential app client authenticated with
//! `client_secret_basic`, and the ID token verified against the pool's JWKS (signature RS256,
//! `iss`, `aud`, `exp`, `nonce`). At refresh, the Cognito admin API says whether the user still
//! exists and is enabled (`AdminGetUser`) and which groups it has (`AdminListGroupsForUser`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use shared::clock::Clock;
use shared::config::CognitoConfig;
use shared::oauth::pkce::{CodeChallenge, CodeVerifier};
use shared::store::PendingAuthorization;
use tokio::sync::{OnceCell, RwLock};

use super::{IdentityProvider, UpstreamError, UpstreamIdentity, UserDirectory, UserStatus};

/// Upstream HTTP calls give up after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// An unknown `kid` refetches the JWKS at most this often.
const JWKS_REFETCH_SECS: i64 = 30;
/// Scopes asked of the pool.
const UPSTREAM_SCOPE: &str = "openid email profile";

/// The parts of the OIDC discovery document used here.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, rename = "cognito:groups")]
    groups: Vec<String>,
}

/// The Cognito identity provider.
pub struct CognitoLogin {
    config: CognitoConfig,
    redirect_uri: String,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    discovery: OnceCell<Discovery>,
    jwks: RwLock<Option<(i64, JwkSet)>>,
}

impl CognitoLogin {
    /// `redirect_uri` is our `/callback`, registered as the app client's only callback.
    pub fn new(config: CognitoConfig, redirect_uri: String, clock: Arc<dyn Clock>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            config,
            redirect_uri,
            clock,
            http,
            discovery: OnceCell::new(),
            jwks: RwLock::new(None),
        }
    }

    async fn discovery(&self) -> Result<&Discovery, UpstreamError> {
        self.discovery
            .get_or_try_init(|| async {
                let answer = self
                    .http
                    .get(&self.config.discovery_url)
                    .send()
                    .await
                    .map_err(|e| unavailable("discovery", &e))?;
                if !answer.status().is_success() {
                    return Err(UpstreamError::Unavailable(format!(
                        "discovery answered {}",
                        answer.status()
                    )));
                }
                answer
                    .json::<Discovery>()
                    .await
                    .map_err(|e| unavailable("discovery document", &e))
            })
            .await
    }

    async fn fetch_jwks(&self, uri: &str) -> Result<JwkSet, UpstreamError> {
        let answer = self
            .http
            .get(uri)
            .send()
            .await
            .map_err(|e| unavailable("jwks", &e))?;
        if !answer.status().is_success() {
            return Err(UpstreamError::Unavailable(format!(
                "jwks answered {}",
                answer.status()
            )));
        }
        answer
            .json::<JwkSet>()
            .await
            .map_err(|e| unavailable("jwks document", &e))
    }

    /// The decoding key for `kid`, refetching the JWKS (rate-limited) when it is unknown.
    async fn key_for(&self, jwks_uri: &str, kid: &str) -> Result<DecodingKey, UpstreamError> {
        let now = self.clock.now();
        let stale = {
            let cached = self.jwks.read().await;
            if let Some((_, set)) = cached.as_ref()
                && let Some(jwk) = set.find(kid)
            {
                return DecodingKey::from_jwk(jwk)
                    .map_err(|_| UpstreamError::Rejected("unusable ID token key"));
            }
            cached
                .as_ref()
                .is_none_or(|(at, _)| now - at >= JWKS_REFETCH_SECS)
        };
        if !stale {
            return Err(UpstreamError::Rejected("ID token signed by an unknown key"));
        }
        let set = self.fetch_jwks(jwks_uri).await?;
        let key = set
            .find(kid)
            .map(DecodingKey::from_jwk)
            .transpose()
            .map_err(|_| UpstreamError::Rejected("unusable ID token key"))?;
        *self.jwks.write().await = Some((now, set));
        key.ok_or(UpstreamError::Rejected("ID token signed by an unknown key"))
    }

    /// Verifies the ID token: RS256 signature by a pool key, `iss`, `aud`, `exp`, `nonce`.
    async fn verify_id_token(
        &self,
        discovery: &Discovery,
        token: &str,
        nonce: &str,
    ) -> Result<IdClaims, UpstreamError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| UpstreamError::Rejected("malformed ID token"))?;
        if header.alg != Algorithm::RS256 {
            return Err(UpstreamError::Rejected("ID token algorithm is not RS256"));
        }
        let kid = header
            .kid
            .ok_or(UpstreamError::Rejected("ID token has no key id"))?;
        let key = self.key_for(&discovery.jwks_uri, &kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&discovery.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|_| UpstreamError::Rejected("ID token does not verify"))?;
        let claims = data.claims;
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|n| shared::secret::constant_time_eq(n.as_bytes(), nonce.as_bytes()));
        if !nonce_ok {
            return Err(UpstreamError::Rejected("ID token nonce does not match"));
        }
        if claims.sub.is_empty() {
            return Err(UpstreamError::Rejected("ID token has no subject"));
        }
        Ok(claims)
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
        Ok(UpstreamIdentity {
            sub: claims.sub,
            email: claims.email,
            groups: claims.groups,
        })
    }
}

/// The Cognito admin API as the user directory.
pub struct CognitoDirectory {
    config: CognitoConfig,
    client: OnceCell<aws_sdk_cognitoidentityprovider::Client>,
}

impl CognitoDirectory {
    pub fn new(config: CognitoConfig) -> Self {
        Self {
            config,
            client: OnceCell::new(),
        }
    }

    /// Over an existing SDK client (tests point one at moto).
    pub fn with_client(
        config: CognitoConfig,
        client: aws_sdk_cognitoidentityprovider::Client,
    ) -> Self {
        Self {
            config,
            client: OnceCell::new_with(Some(client)),
        }
    }

    async fn client(&self) -> &aws_sdk_cognitoidentityprovider::Client {
        self.client
            .get_or_init(|| async {
                let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(self.config.region.clone()))
                    .load()
                    .await;
                aws_sdk_cognitoidentityprovider::Client::new(&aws)
            })
            .await
    }
}

#[async_trait]
impl UserDirectory for CognitoDirectory {
    async fn status(&self, sub: &str) -> Result<UserStatus, UpstreamError> {
        let client = self.client().await;
        let user = client
            .admin_get_user()
            .user_pool_id(&self.config.user_pool_id)
            .username(sub)
            .send()
            .await;
        let user = match user {
            Ok(user) => user,
            Err(error) => {
                let service = error.as_service_error();
                if service.is_some_and(|e| e.is_user_not_found_exception()) {
                    return Ok(UserStatus::Gone);
                }
                return Err(UpstreamError::Unavailable(format!(
                    "AdminGetUser failed: {}",
                    aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&error)
                )));
            }
        };
        if !user.enabled() {
            return Ok(UserStatus::Gone);
        }
        let mut groups = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..10 {
            let page = client
                .admin_list_groups_for_user()
                .user_pool_id(&self.config.user_pool_id)
                .username(user.username())
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    UpstreamError::Unavailable(format!(
                        "AdminListGroupsForUser failed: {}",
                        aws_sdk_cognitoidentityprovider::error::DisplayErrorContext(&e)
                    ))
                })?;
            groups.extend(
                page.groups()
                    .iter()
                    .filter_map(|g| g.group_name().map(str::to_owned)),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(UserStatus::Active { groups })
    }
}
