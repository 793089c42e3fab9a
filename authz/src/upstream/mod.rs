//! The upstream identity provider that logs users in, behind one port with two adapters: the
//! embedded login page ([`local`]) and Cognito managed login over OIDC ([`cognito`]); and the
//! user directory consulted at every refresh.

pub mod cognito;
pub mod local;
pub mod session;

use async_trait::async_trait;
use shared::store::{GrantRecord, PendingAuthorization};

/// Who logged in, as the upstream says.
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The upstream user id, used as `sub` in our tokens.
    pub sub: String,
    /// The name the user signs in with, when the provider says (shown to operators).
    pub username: Option<String>,
    pub email: Option<String>,
    pub groups: Vec<String>,
    /// The upstream session to keep with the grant (Cognito: its refresh token, sealed by
    /// [`session::SessionSeal`]), checked at every refresh so that a user signed out upstream
    /// loses the grant. Opaque; carried to the code and then the grant unchanged.
    pub session: Option<String>,
}

impl std::fmt::Debug for UpstreamIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamIdentity")
            .field("sub", &self.sub)
            .field("groups", &self.groups)
            .field("session", &self.session.as_ref().map(|_| "[sealed]"))
            .finish_non_exhaustive()
    }
}

/// The upstream failed or refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answer did not verify (bad code, bad ID token); our own words.
    #[error("upstream answer rejected: {0}")]
    Rejected(&'static str),
    /// The upstream could not be reached or answered with a failure; try again later.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
}

/// What the directory says about a user at refresh time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserStatus {
    /// The user exists, is enabled and confirmed, and its upstream session still stands;
    /// groups as of now.
    Active { groups: Vec<String> },
    /// Deleted, disabled, no longer confirmed (password reset, forced change, unconfirmed) or
    /// signed out upstream since the grant: refreshes must stop and the grant be revoked.
    Gone,
}

/// Logs a user in for a pending authorization.
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// Where to send the browser. The upstream returns to `/callback` with `state` = the pending
    /// request's id and a `code`.
    async fn login_url(&self, pending: &PendingAuthorization) -> Result<String, UpstreamError>;

    /// Redeems the `code` the upstream sent to `/callback` for the pending request it belongs
    /// to, verifying everything that binds it to that request (nonce, PKCE).
    async fn exchange(
        &self,
        code: &str,
        pending: &PendingAuthorization,
    ) -> Result<UpstreamIdentity, UpstreamError>;
}

/// Looks the grant's user up at every refresh.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// Whether the user of `grant` (its `sub`) may still refresh: [`UserStatus::Gone`] only on
    /// a definite answer that it may not; an upstream that cannot answer now is
    /// [`UpstreamError::Unavailable`] (nothing is revoked for an outage).
    async fn status(&self, grant: &GrantRecord) -> Result<UserStatus, UpstreamError>;
}

/// The configured identity provider and user directory, and the embedded login when it is the
/// provider (its pages need it).
pub struct Upstream {
    pub provider: std::sync::Arc<dyn IdentityProvider>,
    pub directory: std::sync::Arc<dyn UserDirectory>,
    pub local: Option<std::sync::Arc<local::LocalLogin>>,
}

/// The configured upstream. Fails (and the process must not start) when the Cognito login
/// cannot be set up as required: no HTTP client with its timeout and redirect policy, or no
/// issuer to expect from the discovery document.
pub fn from_config(
    config: &shared::config::Config,
    stores: &shared::store::Stores,
    clock: &std::sync::Arc<dyn shared::clock::Clock>,
    key: &std::sync::Arc<crate::cookie_key::CookieKey>,
    aws: &shared::aws::Aws,
) -> Result<Upstream, UpstreamError> {
    use std::sync::Arc;
    Ok(match &config.login {
        shared::config::LoginConfig::Embedded => {
            let local = Arc::new(local::LocalLogin::new(
                config.issuer.clone(),
                stores.clone(),
                clock.clone(),
                key.clone(),
            ));
            Upstream {
                provider: local.clone(),
                directory: Arc::new(local::LocalDirectory::new(stores.clone())),
                local: Some(local),
            }
        }
        shared::config::LoginConfig::Cognito(cognito) => {
            let seal = session_seal(key)?;
            let login = Arc::new(cognito::CognitoLogin::new(
                cognito.clone(),
                config.issuer_url("/callback"),
                clock.clone(),
                seal,
            )?);
            Upstream {
                provider: login.clone(),
                directory: Arc::new(
                    cognito::CognitoDirectory::new(cognito.clone(), aws.clone())
                        .with_sessions(login),
                ),
                local: None,
            }
        }
    })
}

/// The upstream-session sealing key: HMAC-SHA256 of a fixed label under the cookie key, so it
/// is as stable as the cookie key and used for nothing else.
fn session_seal(key: &crate::cookie_key::CookieKey) -> Result<session::SessionSeal, UpstreamError> {
    use base64::Engine as _;
    let derived = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key.mac(session::KEY_PURPOSE, &[]))
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| session::SessionSeal::new(&bytes));
    derived.ok_or_else(|| UpstreamError::Unavailable("cannot derive the session key".into()))
}
