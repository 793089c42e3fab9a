//! Where the bearer layer gets the authorization server's public keys: in process (`serve`) or
//! over HTTPS, from the issuer's RFC 8414 metadata and then its `jwks_uri`.

use async_trait::async_trait;
use serde::Deserialize;
use shared::token::{JwkSet, fetch};

/// The JWKS could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signing keys unavailable: {0}")]
pub struct JwksError(
    /// What went wrong, in our own words.
    pub String,
);

/// Where the authorization server's public keys come from.
#[async_trait]
pub trait JwksSource: Send + Sync {
    /// The current JWK Set.
    async fn fetch(&self) -> Result<JwkSet, JwksError>;
}

/// Keys read in-process (`serve`, where the authorization server runs in the same process).
pub struct InProcessJwks(Box<dyn Fn() -> JwkSet + Send + Sync>);

impl InProcessJwks {
    /// Keys read by calling `keys` (the authorization server's current public keys).
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

/// Keys fetched over HTTP: the issuer's RFC 8414 metadata, then its `jwks_uri`, each read by
/// the one document fetch ([`shared::token::fetch`]).
pub struct HttpJwks {
    issuer: String,
    http: Result<reqwest::Client, JwksError>,
}

#[derive(Deserialize)]
struct AuthorizationServerMetadata {
    issuer: String,
    jwks_uri: String,
}

impl HttpJwks {
    /// Keys of the authorization server whose issuer identifier is `issuer`.
    pub fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            http: fetch::client(reqwest::Client::builder()).map_err(|e| JwksError(e.0)),
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

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, JwksError> {
        let http = self.http.as_ref().map_err(Clone::clone)?;
        fetch::get_json(http, url, what)
            .await
            .map_err(|e| JwksError(e.0))
    }
}

#[async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self) -> Result<JwkSet, JwksError> {
        let metadata: AuthorizationServerMetadata =
            self.get_json(&self.metadata_url()?, "metadata").await?;
        if metadata.issuer != self.issuer {
            return Err(JwksError("the metadata names another issuer".into()));
        }
        self.get_json(&metadata.jwks_uri, "jwks").await
    }
}
