//! The upstream identity provider that logs users in, behind one port with two adapters: the
//! embedded login page ([`local`]) and Cognito managed login over OIDC ([`cognito`]); and the
//! user directory consulted at every refresh.

pub mod cognito;
pub mod local;

use async_trait::async_trait;
use shared::store::PendingAuthorization;

/// Who logged in, as the upstream says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The upstream user id, used as `sub` in our tokens.
    pub sub: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
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
    /// The user exists and is enabled; groups as of now.
    Active { groups: Vec<String> },
    /// Deleted or disabled: refreshes must stop.
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

/// Looks users up by `sub` at every refresh.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    async fn status(&self, sub: &str) -> Result<UserStatus, UpstreamError>;
}

/// The configured identity provider and user directory, and the embedded login when it is the
/// provider (its pages need it).
pub struct Upstream {
    pub provider: std::sync::Arc<dyn IdentityProvider>,
    pub directory: std::sync::Arc<dyn UserDirectory>,
    pub local: Option<std::sync::Arc<local::LocalLogin>>,
}

pub fn from_config(
    config: &shared::config::Config,
    stores: &shared::store::Stores,
    clock: &std::sync::Arc<dyn shared::clock::Clock>,
    key: &std::sync::Arc<crate::flows::signing::SigningKey>,
) -> Upstream {
    use std::sync::Arc;
    match &config.login {
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
        shared::config::LoginConfig::Cognito(cognito) => Upstream {
            provider: Arc::new(cognito::CognitoLogin::new(
                cognito.clone(),
                config.issuer_url("/callback"),
                clock.clone(),
            )),
            directory: Arc::new(cognito::CognitoDirectory::new(cognito.clone())),
            local: None,
        },
    }
}
