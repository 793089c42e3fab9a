//! Where the bearer layer gets the authorization server's public keys: in process (`serve`) or
//! over HTTPS, from the issuer's RFC 8414 metadata and then its `jwks_uri`.

use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use serde::Deserialize;
use shared::token::JwkSet;

const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The JWKS could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing keys unavailable: {0}")]
pub struct JwksError(pub String);

/// Where the authorization server's public keys come from.
#[async_trait]
pub trait JwksSource: Send + Sync {
    /// The current JWK Set.
    async fn fetch(&self) -> Result<JwkSet, JwksError>;
}

/// Keys read in-process (`serve`, where the authorization server runs in the same process).
pub struct InProcessJwks(Box<dyn Fn() -> JwkSet + Send + Sync>);

impl InProcessJwks {
    pub fn new(keys: impl Fn() -> JwkSet + Send + Sync + 'static) -> Self {
        Self(Box::new(keys))
    }
}

#[async_trait]
impl JwksSource for InProcessJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        Ok((self.0)())
    }
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// Keys fetched over HTTP: the issuer's RFC 8414 metadata, then its `jwks_uri`.
pub struct HttpJwks {
    issuer: String,
    client: Option<HttpsClient>,
}

#[derive(Deserialize)]
struct AuthorizationServerMetadata {
    issuer: String,
    jwks_uri: String,
}

impl HttpJwks {
    pub fn new(issuer: &str) -> Self {
        let client = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .ok()
            .map(|b| b.https_or_http().enable_http1().build())
            .map(|connector| {
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(connector)
            });
        Self {
            issuer: issuer.to_owned(),
            client,
        }
    }

    /// RFC 8414 §3: the well-known segment inserted before the issuer's path.
    fn metadata_url(&self) -> Result<String, JwksError> {
        let url = url::Url::parse(&self.issuer).map_err(|_| JwksError("bad issuer URL".into()))?;
        Ok(format!(
            "{}/.well-known/oauth-authorization-server{}",
            url.origin().ascii_serialization(),
            url.path().trim_end_matches('/')
        ))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, JwksError> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| JwksError("no TLS roots available".into()))?;
        let uri: http::Uri = url
            .parse()
            .map_err(|_| JwksError(format!("bad URL {url}")))?;
        let response = tokio::time::timeout(Duration::from_secs(5), client.get(uri))
            .await
            .map_err(|_| JwksError(format!("{url} timed out")))?
            .map_err(|e| JwksError(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(JwksError(format!("{url} answered {}", response.status())));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|_| JwksError(format!("{url}: body unreadable or too large")))?
            .to_bytes();
        serde_json::from_slice(&body)
            .map_err(|_| JwksError(format!("{url}: not the expected JSON")))
    }
}

#[async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        let metadata: AuthorizationServerMetadata = self.get_json(&self.metadata_url()?).await?;
        if metadata.issuer != self.issuer {
            return Err(JwksError("the metadata names another issuer".into()));
        }
        self.get_json(&metadata.jwks_uri).await
    }
}
