//! What every handler can reach: configuration, the stores, the clock and the token issuer.

use std::sync::Arc;

use shared::clock::Clock;
use shared::config::{Config, SigningKeyConfig};
use shared::store::Stores;
use shared::token::{KeyError, KmsSigner, LocalSigner, Signer, TokenIssuer};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub tokens: Arc<TokenIssuer>,
}

impl AppState {
    /// State over the given parts; the issuer mints tokens for the configured resource.
    pub fn new(
        config: Arc<Config>,
        stores: Stores,
        clock: Arc<dyn Clock>,
        signer: Arc<dyn Signer>,
    ) -> Self {
        let tokens = Arc::new(TokenIssuer::new(
            signer,
            config.issuer.clone(),
            config.resource.clone(),
            config.access_token_ttl,
        ));
        Self {
            config,
            stores,
            clock,
            tokens,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// The configured signing key: the PEM in the data dir (created on first start) or KMS.
pub async fn signer(config: &Config) -> Result<Arc<dyn Signer>, KeyError> {
    match &config.signing_key {
        SigningKeyConfig::Local => {
            let dir = config.data_dir.clone();
            let signer = tokio::task::spawn_blocking(move || LocalSigner::load_or_create(&dir))
                .await
                .map_err(|_| KeyError::Storage("key loading task failed".into()))??;
            Ok(Arc::new(signer))
        }
        SigningKeyConfig::Kms { key_id } => {
            let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let client = aws_sdk_kms::Client::new(&aws);
            Ok(Arc::new(KmsSigner::new(client, key_id.clone()).await?))
        }
    }
}
