//! Where access tokens get their RS256 signature (RFC 7518 §3.3): a key kept in the data dir
//! ([`LocalSigner`]) or an AWS KMS key that never leaves KMS ([`KmsSigner`]).

mod kms;
mod local;
pub(crate) mod pem;

pub use kms::KmsSigner;
pub use local::LocalSigner;

use async_trait::async_trait;

use super::jwks::Jwk;

/// Produces RSASSA-PKCS1-v1_5 SHA-256 signatures with one current key.
#[async_trait]
pub trait Signer: Send + Sync {
    /// The current key's id (its RFC 7638 thumbprint); tokens signed by [`Signer::sign`] carry
    /// it in their header. It does not change for the signer's lifetime: a rotated key is a new
    /// signer.
    fn kid(&self) -> &str;

    /// The RS256 signature of `signing_input` (`base64url(header).base64url(payload)`) made with
    /// the key named by [`Signer::kid`].
    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError>;

    /// The public keys to publish: the current key first, then the previous key while a rotation
    /// is in progress, so tokens signed before the rotation keep verifying.
    fn public_jwks(&self) -> Vec<Jwk>;
}

/// A token could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The signing backend could not be reached or refused; trying again later may succeed.
    #[error("signing unavailable: {0}")]
    Unavailable(String),
    /// The token could not be assembled or the signing operation failed locally.
    #[error("signing failed: {0}")]
    Failed(&'static str),
}

/// A signing key could not be loaded, created or rotated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key files failed.
    #[error("signing key storage: {0}")]
    Storage(String),
    /// The key material is not an acceptable RSA key.
    #[error("signing key invalid: {0}")]
    Invalid(String),
    /// The key service could not be reached or refused.
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
}
