//! The AWS-mode signing key: an asymmetric KMS key (RSA, RSASSA_PKCS1_V1_5_SHA_256) whose private
//! half never leaves KMS; its public key is read once with GetPublicKey.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use sha2::{Digest as _, Sha256};

use super::{KeyError, SignError, Signer};
use crate::token::jwks::Jwk;

/// Signs through KMS `Sign`.
///
/// The message is sent as a SHA-256 `DIGEST` computed here rather than `RAW`: KMS caps a raw
/// message at 4096 bytes, which a token with many groups can exceed, and the digest keeps the
/// token's contents (user id, groups) out of the request. KMS applies the same
/// PKCS#1 v1.5 DigestInfo encoding either way, so the signature is a plain RS256 signature.
pub struct KmsSigner {
    client: Client,
    key_id: String,
    jwk: Jwk,
}

impl KmsSigner {
    /// Reads the public key of `key_id` (a key id, ARN or alias) and checks that it is an RSA
    /// key of at least 2048 bits that can sign with RSASSA_PKCS1_V1_5_SHA_256.
    pub async fn new(client: Client, key_id: String) -> Result<Self, KeyError> {
        let out = client
            .get_public_key()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| KeyError::Unavailable(format!("kms get-public-key: {}", error_code(&e))))?;
        if !out
            .signing_algorithms()
            .contains(&SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
        {
            return Err(KeyError::Invalid(
                "the KMS key cannot sign with RSASSA_PKCS1_V1_5_SHA_256".to_owned(),
            ));
        }
        let der = out
            .public_key()
            .ok_or_else(|| KeyError::Invalid("KMS returned no public key".to_owned()))?;
        let public = rsa::PublicKey::from_public_key_der(der.as_ref()).map_err(|_| {
            KeyError::Invalid("the KMS public key is not an RSA SubjectPublicKeyInfo".to_owned())
        })?;
        if public.n().bit_width() < 2048 {
            return Err(KeyError::Invalid(
                "the KMS key is shorter than 2048 bits".to_owned(),
            ));
        }
        let jwk = Jwk::rsa(&public.n_bytes(), &public.e_bytes());
        tracing::info!(kid = %jwk.kid, "KMS signing key loaded");
        Ok(Self {
            client,
            key_id,
            jwk,
        })
    }
}

impl std::fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSigner")
            .field("key_id", &self.key_id)
            .field("kid", &self.jwk.kid)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Signer for KmsSigner {
    fn kid(&self) -> &str {
        &self.jwk.kid
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest = Sha256::digest(signing_input);
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(digest.as_slice()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
            .send()
            .await
            .map_err(|e| SignError::Unavailable(format!("kms sign: {}", error_code(&e))))?;
        out.signature
            .map(Blob::into_inner)
            .ok_or(SignError::Unavailable("kms sign: no signature returned".to_owned()))
    }

    fn public_jwks(&self) -> Vec<Jwk> {
        vec![self.jwk.clone()]
    }
}

/// The KMS error code (e.g. `KMSInvalidStateException`, `ThrottlingException`), or the kind of
/// transport failure; never the SDK's message text.
fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::ConstructionFailure(_) => "request construction failed".to_owned(),
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(_) => "unreachable".to_owned(),
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        _ => err.code().unwrap_or("unknown error").to_owned(),
    }
}
