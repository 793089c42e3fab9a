//! The one AWS SDK configuration of a process. It is resolved once (credentials, region and, for
//! local runs and tests, `AWS_ENDPOINT_URL`, through the SDK's standard chain) and handed to
//! every adapter that talks to AWS: the DynamoDB store, the KMS signer, the Cognito directory
//! and Cost Explorer. A process that needs none of them (`serve` on its embedded defaults) never
//! resolves it, so it costs nothing at start-up.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

/// A handle to the process's AWS SDK configuration; clones share one resolution.
#[derive(Clone, Debug, Default)]
pub struct Aws {
    sdk: Arc<OnceCell<SdkConfig>>,
}

impl Aws {
    /// A handle whose configuration is resolved from the standard chain on first use.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// A handle over an already built configuration (tests point one at moto).
    pub fn with_config(sdk: SdkConfig) -> Self {
        Self {
            sdk: Arc::new(OnceCell::new_with(Some(sdk))),
        }
    }

    /// The configuration, resolved by the first caller; concurrent callers wait for that one.
    pub async fn sdk(&self) -> &SdkConfig {
        self.sdk
            .get_or_init(|| aws_config::load_defaults(BehaviorVersion::latest()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_share_one_resolution() {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let aws = Aws::with_config(sdk);
        let clone = aws.clone();
        assert!(std::ptr::eq(aws.sdk().await, clone.sdk().await));
        assert_eq!(
            clone.sdk().await.region().map(|r| r.as_ref()),
            Some("eu-west-1")
        );
    }
}
