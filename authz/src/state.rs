//! What every handler can reach: configuration, the stores, the clock and the token issuer.

use std::sync::Arc;

use shared::aws::Aws;
use shared::clock::Clock;
use shared::config::{Config, SigningKeyConfig};
use shared::store::Stores;
use shared::token::{KeyError, KmsSigner, LocalSigner, Signer, TokenIssuer};

use crate::cimd::{DocumentFetcher, DocumentSource};
use crate::cookie_key::CookieKey;
use crate::upstream::local::LocalLogin;
use crate::upstream::{IdentityProvider, UpstreamError, UserDirectory};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub tokens: Arc<TokenIssuer>,
    /// Who logs users in (embedded page or Cognito).
    pub upstream: Arc<dyn IdentityProvider>,
    /// Who says at refresh time whether a user still exists and is enabled.
    pub directory: Arc<dyn UserDirectory>,
    /// The embedded login, when it is the identity provider (its pages are served then).
    pub local_login: Option<Arc<LocalLogin>>,
    /// MAC key of consent cookies, CSRF tokens and embedded-login assertions.
    pub cookie_key: Arc<CookieKey>,
    /// Fetches Client ID Metadata Documents (SSRF-guarded).
    pub documents: Arc<dyn DocumentSource>,
}

impl AppState {
    /// What both runtimes build (the Lambda function's `main` and `serve`): the configured
    /// signing key (the data dir's PEM or KMS) and upstream login over `stores`, with AWS reached
    /// through `aws`. Fails, naming the part, when either cannot be set up (the process must not
    /// start).
    pub async fn from_config(
        config: Arc<Config>,
        stores: Stores,
        clock: Arc<dyn Clock>,
        aws: &Aws,
    ) -> Result<Self, StartError> {
        let signer = signer(&config, aws).await.map_err(StartError::SigningKey)?;
        Self::new(config, stores, clock, signer, aws).map_err(StartError::Upstream)
    }

    /// State over the given parts; the issuer mints tokens for the configured resource. Fails
    /// when the configured upstream login cannot be set up (the process must not start).
    pub fn new(
        config: Arc<Config>,
        stores: Stores,
        clock: Arc<dyn Clock>,
        signer: Arc<dyn Signer>,
        aws: &Aws,
    ) -> Result<Self, UpstreamError> {
        let tokens = Arc::new(TokenIssuer::new(
            signer,
            config.issuer.clone(),
            config.resource.clone(),
            config.access_token_ttl,
        ));
        let cookie_key = Arc::new(CookieKey::load(&config));
        let upstream = crate::upstream::from_config(&config, &stores, &clock, &cookie_key, aws)?;
        Ok(Self {
            config,
            stores,
            clock,
            tokens,
            upstream: upstream.provider,
            directory: upstream.directory,
            local_login: upstream.local,
            cookie_key,
            documents: Arc::new(DocumentFetcher::new()),
        })
    }

    /// The same state with another Client ID Metadata Document fetcher (`serve`'s local-testing
    /// fetcher that trusts a test CA and loopback; tests).
    pub fn with_documents(mut self, documents: DocumentFetcher) -> Self {
        self.documents = Arc::new(documents);
        self
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Why the authorization server cannot start.
#[derive(Debug)]
pub enum StartError {
    SigningKey(KeyError),
    Upstream(UpstreamError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SigningKey(e) => write!(f, "cannot load the signing key: {e}"),
            Self::Upstream(e) => write!(f, "cannot set up the upstream login: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The configured signing key: the PEM in the data dir (created on first start) or KMS
/// (through `aws`).
pub async fn signer(config: &Config, aws: &Aws) -> Result<Arc<dyn Signer>, KeyError> {
    match &config.signing_key {
        SigningKeyConfig::Local => {
            let dir = config.data_dir.clone();
            let signer = tokio::task::spawn_blocking(move || LocalSigner::load_or_create(&dir))
                .await
                .map_err(|_| KeyError::Storage("key loading task failed".into()))??;
            Ok(Arc::new(signer))
        }
        SigningKeyConfig::Kms { key_id, previous } => {
            let client = aws_sdk_kms::Client::new(aws.sdk().await);
            Ok(Arc::new(
                KmsSigner::with_previous(client, key_id.clone(), previous).await?,
            ))
        }
    }
}
