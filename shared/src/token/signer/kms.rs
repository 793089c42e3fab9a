//! The AWS-mode signing key: an asymmetric KMS key (RSA, RSASSA_PKCS1_V1_5_SHA_256) whose private
//! half never leaves KMS; its public key is read once with GetPublicKey. Keys that signed before
//! a switch of keys stay published (verification only) so their tokens verify until they expire
//! (RFC 7517 §5: a JWK Set may hold several keys, told apart by `kid`).

use async_trait::async_trait;
use aws_lc_rs::rsa::{PublicKey as RsaPublicKey, PublicKeyComponents};
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use sha2::{Digest as _, Sha256};

use super::{KeyError, SignError, Signer};
use crate::token::jwks::Jwk;

/// The largest message KMS `Sign` accepts with `MessageType` RAW.
const MAX_RAW_MESSAGE_LEN: usize = 4096;

/// Signs through KMS `Sign` with RSASSA_PKCS1_V1_5_SHA_256.
///
/// The signing input goes to KMS as a `RAW` message, which KMS hashes with SHA-256 itself. KMS
/// refuses raw messages over 4096 bytes, which a token with many groups can exceed; such inputs
/// are hashed here and sent as a `DIGEST`. KMS applies the same PKCS#1 v1.5 DigestInfo encoding
/// to both, so either way the result is a plain RS256 signature over the signing input.
pub struct KmsSigner {
    client: Client,
    key_id: String,
    jwk: Jwk,
    /// Public keys of the keys that signed before the last switch: published, never used.
    previous: Vec<Jwk>,
}

impl KmsSigner {
    /// Reads the public key of `key_id` (a key id, ARN or alias) and checks that it is an RSA
    /// key of at least 2048 bits that can sign with RSASSA_PKCS1_V1_5_SHA_256.
    pub async fn new(client: Client, key_id: String) -> Result<Self, KeyError> {
        Self::with_previous(client, key_id, &[]).await
    }

    /// As [`KmsSigner::new`], and also publishes the public keys of `previous` (keys that signed
    /// before a switch; `SMCP_SIGNING_KEY_PREVIOUS`) in the JWKS, never signing with them.
    ///
    /// All keys are read at once, so start-up waits one GetPublicKey round trip however many
    /// previous keys there are. The current key must load. A previous key that cannot be read
    /// (deleted, disabled, scheduled for deletion, not an RSA signing key, KMS unreachable) is
    /// logged and left out: that only refuses tokens it signed, which then get refreshed, and
    /// is better than an authorization server that does not start.
    pub async fn with_previous(
        client: Client,
        key_id: String,
        previous: &[String],
    ) -> Result<Self, KeyError> {
        let mut reads = tokio::task::JoinSet::new();
        for (index, id) in previous.iter().enumerate() {
            let client = client.clone();
            let id = id.clone();
            reads.spawn(async move { (index, public_jwk(&client, &id).await) });
        }
        let jwk = public_jwk(&client, &key_id).await?;
        let mut loaded: Vec<(usize, Jwk)> = Vec::new();
        while let Some(read) = reads.join_next().await {
            match read {
                Ok((index, Ok(old))) => loaded.push((index, old)),
                Ok((index, Err(error))) => {
                    let key_id = previous.get(index).map_or("", String::as_str);
                    tracing::error!(key_id, %error, "previous KMS signing key not published");
                }
                Err(_) => tracing::error!("reading a previous KMS signing key failed"),
            }
        }
        loaded.sort_by_key(|(index, _)| *index);
        let mut published: Vec<Jwk> = Vec::new();
        for (_, old) in loaded {
            if old.kid != jwk.kid && published.iter().all(|p| p.kid != old.kid) {
                published.push(old);
            }
        }
        tracing::info!(
            kid = %jwk.kid,
            previous_kids = ?published.iter().map(|p| p.kid.as_str()).collect::<Vec<_>>(),
            "KMS signing key loaded"
        );
        Ok(Self {
            client,
            key_id,
            jwk,
            previous: published,
        })
    }
}

/// Reads the public key of `key_id` and checks that it is an RSA key of at least 2048 bits
/// that can sign with RSASSA_PKCS1_V1_5_SHA_256; returns it as a JWK.
async fn public_jwk(client: &Client, key_id: &str) -> Result<Jwk, KeyError> {
    let out = client
        .get_public_key()
        .key_id(key_id)
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
    let public = RsaPublicKey::from_der(der.as_ref()).map_err(|_| {
        KeyError::Invalid("the KMS public key is not an RSA SubjectPublicKeyInfo".to_owned())
    })?;
    let public = PublicKeyComponents::<Vec<u8>>::from(&public);
    if modulus_bits(&public.n) < 2048 {
        return Err(KeyError::Invalid(
            "the KMS key is shorter than 2048 bits".to_owned(),
        ));
    }
    Ok(Jwk::rsa(&public.n, &public.e))
}

/// The bit length of a big-endian unsigned integer, leading zero bytes and bits not counted.
fn modulus_bits(n: &[u8]) -> usize {
    let n = match n.iter().position(|&b| b != 0) {
        Some(first) => n.get(first..).unwrap_or_default(),
        None => return 0,
    };
    let top = n.first().map_or(0, |b| 8 - b.leading_zeros() as usize);
    (n.len() - 1) * 8 + top
}

impl std::fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSigner")
            .field("key_id", &self.key_id)
            .field("kid", &self.jwk.kid)
            .field(
                "previous_kids",
                &self.previous.iter().map(|p| &p.kid).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Signer for KmsSigner {
    fn kid(&self) -> &str {
        &self.jwk.kid
    }

    async fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        let (message, message_type) = if signing_input.len() <= MAX_RAW_MESSAGE_LEN {
            (Blob::new(signing_input), MessageType::Raw)
        } else {
            let digest = Sha256::digest(signing_input);
            (Blob::new(digest.as_slice()), MessageType::Digest)
        };
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(message)
            .message_type(message_type)
            .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
            .send()
            .await
            .map_err(|e| SignError::Unavailable(format!("kms sign: {}", error_code(&e))))?;
        out.signature
            .map(Blob::into_inner)
            .ok_or(SignError::Unavailable(
                "kms sign: no signature returned".to_owned(),
            ))
    }

    fn public_jwks(&self) -> Vec<Jwk> {
        std::iter::once(self.jwk.clone())
            .chain(self.previous.iter().cloned())
            .collect()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::KeyPair as _;
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_types::body::SdkBody;
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use serde_json::{Value, json};

    use super::*;
    use crate::token::{AccessTokenVerifier, JwkSet, TokenIssuer, VerificationKeys};

    const ISS: &str = "https://as.example.com";
    const AUD: &str = "https://mcp.example.com/mcp";
    const NOW: i64 = 1_800_000_000;

    fn config() -> aws_sdk_kms::config::Builder {
        aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
    }

    /// A client for the moto server that the test runner starts.
    fn moto_client() -> Client {
        let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") else {
            panic!(
                "AWS_ENDPOINT_URL is not set: run the tests through tests/run.sh, which starts moto"
            );
        };
        Client::from_conf(config().endpoint_url(endpoint).build())
    }

    async fn create_rsa_signing_key(client: &Client) -> String {
        client
            .create_key()
            .key_spec(KeySpec::Rsa2048)
            .key_usage(KeyUsageType::SignVerify)
            .description("shared::token tests")
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .key_id
    }

    #[tokio::test]
    async fn kms_minted_tokens_verify_against_its_jwks() {
        let client = moto_client();
        let key_id = create_rsa_signing_key(&client).await;
        let signer = Arc::new(KmsSigner::new(client, key_id).await.unwrap());
        let jwks = signer.public_jwks();
        assert_eq!(jwks.len(), 1);
        assert_eq!(jwks[0].kid, signer.kid());
        assert_eq!(jwks[0].n.len(), 342, "a 2048-bit modulus");

        let issuer = TokenIssuer::new(signer.clone(), ISS, AUD, 3600);
        let groups = vec!["finance".to_owned()];
        let (token, minted) = issuer
            .mint("user-1", "client-1", "costs:read", &groups, NOW)
            .await
            .unwrap();
        let published: JwkSet =
            serde_json::from_str(&serde_json::to_string(&issuer.jwks()).unwrap()).unwrap();
        let keys = VerificationKeys::from_jwks(&published);
        let verified = AccessTokenVerifier::new(ISS, AUD)
            .verify(token.expose(), &keys, NOW)
            .unwrap();
        assert_eq!(verified, minted);
    }

    /// A switch of KMS keys (`SMCP_SIGNING_KEY=kms:<new>`, `SMCP_SIGNING_KEY_PREVIOUS=kms:<old>`):
    /// a token the old key signed still verifies against the JWKS served after the switch, and
    /// new tokens carry the new key's id; a previous key that cannot be read is left out.
    #[tokio::test]
    async fn after_a_switch_of_kms_keys_tokens_of_the_previous_key_still_verify() {
        let client = moto_client();
        let old_key = create_rsa_signing_key(&client).await;
        let new_key = create_rsa_signing_key(&client).await;
        let before = Arc::new(
            KmsSigner::new(client.clone(), old_key.clone())
                .await
                .unwrap(),
        );
        let (old_token, old_claims) = TokenIssuer::new(before.clone(), ISS, AUD, 3600)
            .mint("user-1", "client-1", "costs:read", &[], NOW)
            .await
            .unwrap();

        let after = Arc::new(
            KmsSigner::with_previous(
                client.clone(),
                new_key,
                &[old_key.clone(), "alias/no-such-key".to_owned()],
            )
            .await
            .unwrap(),
        );
        assert_ne!(after.kid(), before.kid());
        let issuer = TokenIssuer::new(after.clone(), ISS, AUD, 3600);
        let published: JwkSet =
            serde_json::from_str(&serde_json::to_string(&issuer.jwks()).unwrap()).unwrap();
        let kids: Vec<&str> = published.keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(
            kids,
            [after.kid(), before.kid()],
            "current key first, then the previous one; the unreadable one left out"
        );
        let keys = VerificationKeys::from_jwks(&published);
        let verifier = AccessTokenVerifier::new(ISS, AUD);
        assert_eq!(
            verifier
                .verify(old_token.expose(), &keys, NOW + 60)
                .unwrap(),
            old_claims,
            "a token signed by the previous key verifies after the switch"
        );
        let (new_token, new_claims) = issuer
            .mint("user-1", "client-1", "costs:read", &[], NOW + 60)
            .await
            .unwrap();
        let header = jsonwebtoken::decode_header(new_token.expose()).unwrap();
        assert_eq!(header.kid.as_deref(), Some(after.kid()));
        assert_eq!(
            verifier
                .verify(new_token.expose(), &keys, NOW + 60)
                .unwrap(),
            new_claims
        );

        // Without the previous key (after the hour), the old token is refused.
        let current_only = VerificationKeys::from_jwks(&JwkSet {
            keys: KmsSigner::new(client, after.key_id.clone())
                .await
                .unwrap()
                .public_jwks(),
        });
        assert!(
            verifier
                .verify(old_token.expose(), &current_only, NOW + 60)
                .is_err()
        );
    }

    #[tokio::test]
    async fn kms_errors_carry_the_error_code() {
        let client = moto_client();
        let missing = KmsSigner::new(client.clone(), "alias/no-such-key".to_owned()).await;
        assert_eq!(
            missing.unwrap_err(),
            KeyError::Unavailable("kms get-public-key: NotFoundException".to_owned())
        );

        let key_id = create_rsa_signing_key(&client).await;
        let signer = KmsSigner::new(client, key_id).await.unwrap();
        let gone = KmsSigner {
            key_id: "00000000-0000-0000-0000-000000000000".to_owned(),
            ..signer
        };
        assert_eq!(
            gone.sign(b"header.payload").await,
            Err(SignError::Unavailable(
                "kms sign: NotFoundException".to_owned()
            ))
        );
    }

    #[tokio::test]
    async fn an_unreachable_kms_is_unavailable() {
        let client = Client::from_conf(
            config()
                .endpoint_url("http://127.0.0.1:9")
                .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
                .build(),
        );
        let err = KmsSigner::new(client, "any".to_owned()).await.unwrap_err();
        assert_eq!(
            err,
            KeyError::Unavailable("kms get-public-key: unreachable".to_owned())
        );
    }

    fn kms_request(operation: &str) -> http::Request<SdkBody> {
        http::Request::builder()
            .method("POST")
            .uri("https://kms.us-east-1.amazonaws.com/")
            .header("x-amz-target", format!("TrentService.{operation}"))
            .body(SdkBody::empty())
            .unwrap()
    }

    fn kms_response(status: u16, body: &Value) -> http::Response<SdkBody> {
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .body(SdkBody::from(body.to_string()))
            .unwrap()
    }

    /// moto treats every `Sign` message as RAW, so the DIGEST path is checked against the shapes
    /// in the KMS API reference (GetPublicKey, Sign, and an error response).
    #[tokio::test]
    async fn large_inputs_are_signed_as_a_sha256_digest() {
        let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let spki = key_pair.public_key().as_der().unwrap();
        let input = "a".repeat(MAX_RAW_MESSAGE_LEN + 1);
        let mut signature = vec![0; key_pair.public_modulus_len()];
        key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();

        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let public_key = json!({
            "CustomerMasterKeySpec": "RSA_2048",
            "KeyId": arn,
            "KeySpec": "RSA_2048",
            "KeyUsage": "SIGN_VERIFY",
            "PublicKey": STANDARD.encode(spki.as_ref()),
            "SigningAlgorithms": [
                "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"
            ]
        });
        let signed = json!({
            "KeyId": arn,
            "Signature": STANDARD.encode(&signature),
            "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"
        });
        let disabled = json!({
            "__type": "KMSInvalidStateException",
            "message": format!("{arn} is disabled.")
        });
        let replay = StaticReplayClient::new(vec![
            ReplayEvent::new(kms_request("GetPublicKey"), kms_response(200, &public_key)),
            ReplayEvent::new(kms_request("Sign"), kms_response(200, &signed)),
            ReplayEvent::new(kms_request("Sign"), kms_response(400, &disabled)),
        ]);
        let client = Client::from_conf(config().http_client(replay.clone()).build());

        let signer = KmsSigner::new(client, arn.to_owned()).await.unwrap();
        let got = signer.sign(input.as_bytes()).await.unwrap();
        assert_eq!(got, signature);
        let keys = VerificationKeys::from_jwks(&JwkSet {
            keys: signer.public_jwks(),
        });
        let verified = jsonwebtoken::crypto::verify(
            &URL_SAFE_NO_PAD.encode(&got),
            input.as_bytes(),
            keys.get(signer.kid()).unwrap(),
            jsonwebtoken::Algorithm::RS256,
        );
        assert_eq!(verified.ok(), Some(true));

        assert_eq!(
            signer.sign(b"header.payload").await,
            Err(SignError::Unavailable(
                "kms sign: KMSInvalidStateException".to_owned()
            ))
        );

        let bodies: Vec<Value> = replay
            .actual_requests()
            .map(|r| serde_json::from_slice(r.body().bytes().unwrap()).unwrap())
            .collect();
        assert_eq!(bodies.len(), 3);
        assert_eq!(bodies[0], json!({ "KeyId": arn }));
        assert_eq!(
            bodies[1],
            json!({
                "KeyId": arn,
                "Message": STANDARD.encode(Sha256::digest(input.as_bytes())),
                "MessageType": "DIGEST",
                "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"
            })
        );
        assert_eq!(
            bodies[2],
            json!({
                "KeyId": arn,
                "Message": STANDARD.encode(b"header.payload"),
                "MessageType": "RAW",
                "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"
            })
        );
    }
}
