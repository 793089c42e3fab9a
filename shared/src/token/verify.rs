//! Checking access tokens at the resource server (RFC 9068 §4): RS256 only, `typ` at+jwt, a known
//! `kid`, the signature, then `iss`, `aud`, `exp`, `nbf` and `iat` against an injected clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::aws_lc;
use serde::Deserialize;

use super::claims::AccessClaims;
use super::jwks::VerificationKeys;

/// Tokens longer than this are refused before any decoding.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The allowance for clock skew between the authorization server and the resource server, in
/// seconds, applied to `exp`, `nbf` and `iat` by every verifier.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

/// Why a token was refused. Each description is short and safe to return as an
/// `error_description`; none includes the token or anything taken from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token is not signed with RS256")]
    UnsupportedAlgorithm,
    #[error("the token is not an access token (typ must be at+jwt)")]
    WrongType,
    #[error("the access token has no key id")]
    MissingKeyId,
    /// The `kid` is not in the current key set; the caller may refetch the JWKS and retry.
    #[error("the access token was signed by an unknown key")]
    UnknownKey(String),
    #[error("the access token signature is invalid")]
    BadSignature,
    #[error("the access token lacks the {0} claim")]
    MissingClaim(&'static str),
    #[error("the access token was issued by another issuer")]
    WrongIssuer,
    #[error("the access token is intended for another resource")]
    WrongAudience,
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid yet")]
    NotYetValid,
}

/// Verifies access tokens issued by one authorization server for one resource.
#[derive(Debug, Clone)]
pub struct AccessTokenVerifier {
    issuer: String,
    audience: String,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    client_id: Option<String>,
    #[serde(default)]
    scope: String,
    iat: Option<i64>,
    exp: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
    grant_id: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
}

impl AccessTokenVerifier {
    /// `issuer` must equal the tokens' `iss` byte for byte; `audience` is this resource's URL.
    /// The allowed clock skew is [`DEFAULT_LEEWAY_SECS`].
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The claims of `token` if it is an access token for this resource from this issuer,
    /// signed by one of `keys` and valid at `now` (epoch seconds).
    ///
    /// The header is checked (algorithm, type, key id) before any key is used, and the claims
    /// are read only after the signature verified.
    pub fn verify(
        &self,
        token: &str,
        keys: &VerificationKeys,
        now: i64,
    ) -> Result<AccessClaims, VerifyError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(VerifyError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };
        let header: RawHeader = decode_json(header_b64)?;
        if header.alg != "RS256" {
            return Err(VerifyError::UnsupportedAlgorithm);
        }
        if header.crit.is_some() {
            // No header extension is understood here (RFC 7515 §4.1.11).
            return Err(VerifyError::Malformed);
        }
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(VerifyError::WrongType);
        }
        let kid = header.kid.ok_or(VerifyError::MissingKeyId)?;
        let Some(key) = keys.get(&kid) else {
            return Err(VerifyError::UnknownKey(kid));
        };

        let signing_input_len = header_b64.len() + 1 + payload_b64.len();
        let signing_input = token
            .get(..signing_input_len)
            .ok_or(VerifyError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| VerifyError::Malformed)?;
        // The aws-lc provider by name rather than jsonwebtoken's process-wide default, which
        // panics if feature unification ever enables a second crypto backend.
        let verifier = (aws_lc::DEFAULT_PROVIDER.verifier_factory)(&Algorithm::RS256, key)
            .map_err(|_| VerifyError::BadSignature)?;
        verifier
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| VerifyError::BadSignature)?;

        let claims: RawClaims = decode_json(payload_b64)?;
        self.check_claims(claims, now)
    }

    /// `exp`, `nbf` and `iat` at `now`, with the [`DEFAULT_LEEWAY_SECS`] leeway (also used on
    /// the claims of an already verified token, [`super::VerifiedTokens`]).
    pub fn check_validity_period(
        &self,
        exp: i64,
        nbf: Option<i64>,
        iat: i64,
        now: i64,
    ) -> Result<(), VerifyError> {
        if now >= exp.saturating_add(DEFAULT_LEEWAY_SECS) {
            return Err(VerifyError::Expired);
        }
        let latest_start = now.saturating_add(DEFAULT_LEEWAY_SECS);
        if nbf.is_some_and(|nbf| nbf > latest_start) || iat > latest_start {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }

    fn check_claims(&self, raw: RawClaims, now: i64) -> Result<AccessClaims, VerifyError> {
        let iss = raw.iss.ok_or(VerifyError::MissingClaim("iss"))?;
        if iss != self.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        let for_us = match raw.aud.ok_or(VerifyError::MissingClaim("aud"))? {
            Audience::One(aud) => aud == self.audience,
            Audience::Many(auds) => auds.contains(&self.audience),
        };
        if !for_us {
            return Err(VerifyError::WrongAudience);
        }
        let exp = raw.exp.ok_or(VerifyError::MissingClaim("exp"))?;
        let iat = raw.iat.ok_or(VerifyError::MissingClaim("iat"))?;
        self.check_validity_period(exp, raw.nbf, iat, now)?;
        Ok(AccessClaims {
            iss,
            sub: raw.sub.ok_or(VerifyError::MissingClaim("sub"))?,
            aud: self.audience.clone(),
            client_id: raw
                .client_id
                .ok_or(VerifyError::MissingClaim("client_id"))?,
            scope: raw.scope,
            iat,
            exp,
            nbf: raw.nbf,
            jti: raw.jti.ok_or(VerifyError::MissingClaim("jti"))?,
            grant_id: raw.grant_id,
            groups: raw.groups,
        })
    }
}

/// `at+jwt`, or its full media type `application/at+jwt` (RFC 9068 §2.1, RFC 7515 §4.1.9),
/// compared case-insensitively.
fn is_access_token_type(typ: &str) -> bool {
    let typ = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or(""),
        _ => typ,
    };
    typ.eq_ignore_ascii_case(super::ACCESS_TOKEN_TYPE)
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::hmac;
    use aws_lc_rs::rsa::PublicKeyComponents;
    use serde_json::{Value, json};

    use super::*;
    use crate::token::issue::TokenIssuer;
    use crate::token::jwks::JwkSet;
    use crate::token::signer::{LocalSigner, Signer};
    use crate::token::test_support::TempDir;

    const ISS: &str = "https://as.example.com";
    const AUD: &str = "https://mcp.example.com/mcp";
    const NOW: i64 = 1_800_000_000;
    const LIFETIME: i64 = 3600;

    struct Fixture {
        signer: Arc<LocalSigner>,
        issuer: TokenIssuer,
        keys: VerificationKeys,
    }

    /// One key for the whole module: generating RSA keys is the slow part of these tests.
    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let dir = TempDir::new();
            let signer = Arc::new(LocalSigner::load_or_create(dir.path()).unwrap());
            let issuer = TokenIssuer::new(signer.clone(), ISS, AUD, LIFETIME);
            let keys = VerificationKeys::from_jwks(&issuer.jwks());
            Fixture {
                signer,
                issuer,
                keys,
            }
        })
    }

    fn verifier() -> AccessTokenVerifier {
        AccessTokenVerifier::new(ISS, AUD)
    }

    /// One valid token for the mutation property (minted once).
    fn valid_token() -> &'static str {
        static TOKEN: OnceLock<String> = OnceLock::new();
        TOKEN.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let (token, _) = runtime
                .block_on(
                    fixture()
                        .issuer
                        .mint("user-1", "client-1", "costs:read", &[], NOW),
                )
                .unwrap();
            token.expose().to_owned()
        })
    }

    const TOKEN_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Changing any one character of a valid token (other than the signature's last one,
        /// whose low bits base64url does not use) makes it invalid: the header and payload are
        /// signed as text, and every other signature character changes the signature's bytes.
        #[test]
        fn every_single_character_mutation_is_rejected(position in 0usize..100_000, pick in 0usize..TOKEN_ALPHABET.len()) {
            let token = valid_token();
            proptest::prop_assert!(verifier().verify(token, &fixture().keys, NOW).is_ok());
            let position = position % (token.len() - 1);
            let original = token.as_bytes()[position];
            let mut replacement = TOKEN_ALPHABET[pick];
            if replacement == original {
                replacement = TOKEN_ALPHABET[(pick + 1) % TOKEN_ALPHABET.len()];
            }
            let mut mutated = token.as_bytes().to_vec();
            mutated[position] = replacement;
            let mutated = String::from_utf8(mutated).unwrap();
            proptest::prop_assert!(
                verifier().verify(&mutated, &fixture().keys, NOW).is_err(),
                "accepted a token changed at {} from {:?} to {:?}",
                position,
                char::from(original),
                char::from(replacement)
            );
        }
    }

    fn b64(json: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
    }

    fn header() -> Value {
        json!({ "alg": "RS256", "typ": "at+jwt", "kid": fixture().signer.kid() })
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "sub": "user-1", "aud": AUD, "client_id": "client-1",
            "scope": "costs:read", "iat": NOW, "exp": NOW + LIFETIME, "jti": "jti-1",
            "groups": ["finance"],
        })
    }

    fn with(mut value: Value, key: &str, new: Value) -> Value {
        value[key] = new;
        value
    }

    fn without(mut value: Value, key: &str) -> Value {
        value.as_object_mut().unwrap().remove(key);
        value
    }

    /// A token with any header and claims, RS256-signed by the fixture key.
    async fn forge(header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = fixture().signer.sign(input.as_bytes()).await.unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A token HMAC-SHA256-signed with `secret`, the classic algorithm-confusion forgery.
    fn forge_hs256(secret: &[u8], claims: &Value) -> String {
        let header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": fixture().signer.kid() });
        let input = format!("{}.{}", b64(&header), b64(claims));
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let tag = hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    fn public_key_material() -> (Vec<u8>, Vec<u8>) {
        let jwk = fixture().signer.public_jwks().remove(0);
        let n = URL_SAFE_NO_PAD.decode(&jwk.n).unwrap();
        let e = URL_SAFE_NO_PAD.decode(&jwk.e).unwrap();
        let spki = PublicKeyComponents { n: &n, e: &e }.as_der().unwrap();
        let pem = crate::token::signer::pem::encode("PUBLIC KEY", spki.as_ref());
        (pem.into_bytes(), n)
    }

    #[tokio::test]
    async fn minted_token_round_trips() {
        let f = fixture();
        let groups = vec!["finance".to_owned(), "ops".to_owned()];
        let (token, minted) = f
            .issuer
            .mint(
                "user-1",
                "client-1",
                "costs:read costs:resources",
                &groups,
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(minted.exp, NOW + LIFETIME);
        assert_eq!(minted.iat, NOW);
        assert_eq!(minted.jti.len(), 22);

        let verified = verifier()
            .verify(token.expose(), &f.keys, NOW + 10)
            .unwrap();
        assert_eq!(verified, minted);
        assert_eq!(
            verified.scopes().collect::<Vec<_>>(),
            ["costs:read", "costs:resources"]
        );

        let header_b64 = token.expose().split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({ "alg": "RS256", "typ": "at+jwt", "kid": f.signer.kid() })
        );
        assert_eq!(format!("{token:?}"), "[redacted]");

        let (other, _) = f
            .issuer
            .mint("user-1", "client-1", "", &[], NOW)
            .await
            .unwrap();
        assert_ne!(
            other.expose(),
            token.expose(),
            "jti makes every token unique"
        );
    }

    #[tokio::test]
    async fn accepted_variants() {
        let f = fixture();
        let cases = [
            (
                "forged with the valid header and claims",
                header(),
                claims(),
            ),
            (
                "typ in upper case",
                with(header(), "typ", json!("AT+JWT")),
                claims(),
            ),
            (
                "typ as a full media type",
                with(header(), "typ", json!("application/at+jwt")),
                claims(),
            ),
            (
                "aud as an array containing the resource",
                header(),
                with(claims(), "aud", json!(["https://other.example", AUD])),
            ),
            (
                "nbf in the past",
                header(),
                with(claims(), "nbf", json!(NOW - 10)),
            ),
            (
                "nbf within the leeway",
                header(),
                with(claims(), "nbf", json!(NOW + 30)),
            ),
            (
                "expired within the leeway",
                header(),
                with(claims(), "exp", json!(NOW - 29)),
            ),
            (
                "no groups or scope",
                header(),
                without(without(claims(), "groups"), "scope"),
            ),
        ];
        for (description, header, claims) in cases {
            let token = forge(&header, &claims).await;
            let verified = verifier().verify(&token, &f.keys, NOW);
            assert!(verified.is_ok(), "{description}: {verified:?}");
        }
    }

    #[tokio::test]
    async fn rejections() {
        let f = fixture();
        let (pem, n) = public_key_material();
        let valid = forge(&header(), &claims()).await;
        let mut valid_parts = valid.split('.');
        let (valid_header, _, valid_signature) = (
            valid_parts.next().unwrap(),
            valid_parts.next().unwrap(),
            valid_parts.next().unwrap(),
        );
        let tampered = format!(
            "{valid_header}.{}.{valid_signature}",
            b64(&with(
                claims(),
                "scope",
                json!("costs:read costs:resources")
            ))
        );
        let unsigned = format!(
            "{}.{}.",
            b64(&with(header(), "alg", json!("none"))),
            b64(&claims())
        );

        let cases: Vec<(&str, String, VerifyError)> = vec![
            (
                "unknown kid",
                forge(&with(header(), "kid", json!("other-key")), &claims()).await,
                VerifyError::UnknownKey("other-key".into()),
            ),
            (
                "missing kid",
                forge(&without(header(), "kid"), &claims()).await,
                VerifyError::MissingKeyId,
            ),
            (
                "alg none without signature",
                unsigned,
                VerifyError::UnsupportedAlgorithm,
            ),
            (
                "alg none with an RS256 signature",
                forge(&with(header(), "alg", json!("none")), &claims()).await,
                VerifyError::UnsupportedAlgorithm,
            ),
            (
                "HS256 keyed with the public key PEM",
                forge_hs256(&pem, &claims()),
                VerifyError::UnsupportedAlgorithm,
            ),
            (
                "HS256 keyed with the modulus bytes",
                forge_hs256(&n, &claims()),
                VerifyError::UnsupportedAlgorithm,
            ),
            (
                "RS512 header",
                forge(&with(header(), "alg", json!("RS512")), &claims()).await,
                VerifyError::UnsupportedAlgorithm,
            ),
            (
                "alg in lower case",
                forge(&with(header(), "alg", json!("rs256")), &claims()).await,
                VerifyError::UnsupportedAlgorithm,
            ),
            (
                "typ JWT",
                forge(&with(header(), "typ", json!("JWT")), &claims()).await,
                VerifyError::WrongType,
            ),
            (
                "typ id token style",
                forge(&with(header(), "typ", json!("application/jwt")), &claims()).await,
                VerifyError::WrongType,
            ),
            (
                "missing typ",
                forge(&without(header(), "typ"), &claims()).await,
                VerifyError::WrongType,
            ),
            (
                "critical header extension",
                forge(&with(header(), "crit", json!(["exp"])), &claims()).await,
                VerifyError::Malformed,
            ),
            (
                "expired beyond the leeway",
                forge(&header(), &with(claims(), "exp", json!(NOW - 30))).await,
                VerifyError::Expired,
            ),
            (
                "nbf in the future",
                forge(&header(), &with(claims(), "nbf", json!(NOW + 31))).await,
                VerifyError::NotYetValid,
            ),
            (
                "iat in the future",
                forge(&header(), &with(claims(), "iat", json!(NOW + 120))).await,
                VerifyError::NotYetValid,
            ),
            (
                "wrong iss",
                forge(
                    &header(),
                    &with(claims(), "iss", json!("https://evil.example")),
                )
                .await,
                VerifyError::WrongIssuer,
            ),
            (
                "iss with a trailing slash",
                forge(&header(), &with(claims(), "iss", json!(format!("{ISS}/")))).await,
                VerifyError::WrongIssuer,
            ),
            (
                "wrong aud",
                forge(
                    &header(),
                    &with(claims(), "aud", json!("https://other.example/mcp")),
                )
                .await,
                VerifyError::WrongAudience,
            ),
            (
                "aud array without the resource",
                forge(
                    &header(),
                    &with(claims(), "aud", json!(["https://other.example/mcp"])),
                )
                .await,
                VerifyError::WrongAudience,
            ),
            (
                "missing aud",
                forge(&header(), &without(claims(), "aud")).await,
                VerifyError::MissingClaim("aud"),
            ),
            (
                "missing iss",
                forge(&header(), &without(claims(), "iss")).await,
                VerifyError::MissingClaim("iss"),
            ),
            (
                "missing exp",
                forge(&header(), &without(claims(), "exp")).await,
                VerifyError::MissingClaim("exp"),
            ),
            (
                "missing iat",
                forge(&header(), &without(claims(), "iat")).await,
                VerifyError::MissingClaim("iat"),
            ),
            (
                "missing sub",
                forge(&header(), &without(claims(), "sub")).await,
                VerifyError::MissingClaim("sub"),
            ),
            (
                "missing client_id",
                forge(&header(), &without(claims(), "client_id")).await,
                VerifyError::MissingClaim("client_id"),
            ),
            (
                "missing jti",
                forge(&header(), &without(claims(), "jti")).await,
                VerifyError::MissingClaim("jti"),
            ),
            (
                "exp as a string",
                forge(&header(), &with(claims(), "exp", json!("soon"))).await,
                VerifyError::Malformed,
            ),
            ("tampered payload", tampered, VerifyError::BadSignature),
            (
                "truncated signature",
                valid.get(..valid.len() - 6).unwrap().to_owned(),
                VerifyError::BadSignature,
            ),
            ("garbage", "garbage".to_owned(), VerifyError::Malformed),
            ("empty", String::new(), VerifyError::Malformed),
            ("three empty parts", "..".to_owned(), VerifyError::Malformed),
            ("four parts", format!("{valid}.x"), VerifyError::Malformed),
            (
                "header not base64url",
                format!("!!.{}", valid.split_once('.').unwrap().1),
                VerifyError::Malformed,
            ),
            (
                "header not JSON",
                format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode("not json"),
                    valid.split_once('.').unwrap().1
                ),
                VerifyError::Malformed,
            ),
            (
                "signature not base64url",
                format!("{}.***", valid.rsplit_once('.').unwrap().0),
                VerifyError::Malformed,
            ),
            (
                "oversized",
                format!("{valid}{}", "A".repeat(MAX_TOKEN_LEN)),
                VerifyError::Malformed,
            ),
        ];
        for (description, token, expected) in cases {
            let result = verifier().verify(&token, &f.keys, NOW);
            assert_eq!(result, Err(expected), "{description}");
            let text = result.unwrap_err().to_string();
            assert!(
                !text.contains("eyJ") && text.len() < 80,
                "{description}: {text}"
            );
        }
    }

    #[tokio::test]
    async fn an_empty_key_set_reports_the_unknown_kid() {
        let token = forge(&header(), &claims()).await;
        let result = verifier().verify(&token, &VerificationKeys::default(), NOW);
        assert_eq!(
            result,
            Err(VerifyError::UnknownKey(fixture().signer.kid().to_owned()))
        );
    }

    #[tokio::test]
    async fn tokens_from_the_previous_key_verify_after_rotation() {
        let dir = TempDir::new();
        let old_signer = Arc::new(LocalSigner::load_or_create(dir.path()).unwrap());
        let old_issuer = TokenIssuer::new(old_signer.clone(), ISS, AUD, LIFETIME);
        let (old_token, _) = old_issuer
            .mint("u", "c", "costs:read", &[], NOW)
            .await
            .unwrap();

        let new_signer = Arc::new(LocalSigner::rotate(dir.path()).unwrap());
        let new_issuer = TokenIssuer::new(new_signer.clone(), ISS, AUD, LIFETIME);
        let jwks: JwkSet = new_issuer.jwks();
        assert_eq!(jwks.keys.len(), 2);
        assert_eq!(jwks.keys[0].kid, new_signer.kid());
        assert_eq!(jwks.keys[1].kid, old_signer.kid());

        // As the resource server would see it: fetched over HTTP as JSON.
        let fetched: JwkSet = serde_json::from_str(&serde_json::to_string(&jwks).unwrap()).unwrap();
        let keys = VerificationKeys::from_jwks(&fetched);
        let (new_token, _) = new_issuer
            .mint("u", "c", "costs:read", &[], NOW)
            .await
            .unwrap();
        assert!(verifier().verify(old_token.expose(), &keys, NOW).is_ok());
        assert!(verifier().verify(new_token.expose(), &keys, NOW).is_ok());

        // A second rotation drops the oldest key.
        let newest = LocalSigner::rotate(dir.path()).unwrap();
        let keys = VerificationKeys::from_jwks(&JwkSet {
            keys: newest.public_jwks(),
        });
        assert_eq!(
            verifier().verify(old_token.expose(), &keys, NOW),
            Err(VerifyError::UnknownKey(old_signer.kid().to_owned()))
        );
        assert!(verifier().verify(new_token.expose(), &keys, NOW).is_ok());
    }

    #[test]
    fn verified_tokens_answer_from_the_cache_only_for_the_same_token_and_key_set() {
        use crate::token::VerifiedTokens;
        let cache = VerifiedTokens::new(2);
        let token = valid_token();
        let keys = &fixture().keys;
        let first = cache.verify(&verifier(), token, keys, 1, NOW).unwrap();
        assert_eq!(cache.len(), 1);
        // A hit needs no keys at all; the same claims come back.
        let empty = VerificationKeys::default();
        assert_eq!(cache.verify(&verifier(), token, &empty, 1, NOW), Ok(first));
        // The time claims are checked on every hit.
        assert_eq!(
            cache.verify(&verifier(), token, &empty, 1, NOW + LIFETIME + 30),
            Err(VerifyError::Expired)
        );
        assert_eq!(
            cache.verify(&verifier(), token, &empty, 1, NOW - 31),
            Err(VerifyError::NotYetValid)
        );
        // Once the keys are refetched (a new generation), the token is verified again: a key
        // withdrawn from the JWKS stops working at once.
        assert!(matches!(
            cache.verify(&verifier(), token, &empty, 2, NOW),
            Err(VerifyError::UnknownKey(_))
        ));
        // A changed token is never a hit, and failures are not cached.
        let mut tampered = token.to_owned();
        tampered.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
        assert!(cache.verify(&verifier(), &tampered, keys, 1, NOW).is_err());
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn the_verified_token_cache_stays_within_its_capacity() {
        use crate::token::VerifiedTokens;
        let cache = VerifiedTokens::new(3);
        for i in 0..10 {
            let (token, _) = fixture()
                .issuer
                .mint(&format!("user-{i}"), "client-1", "costs:read", &[], NOW)
                .await
                .unwrap();
            cache
                .verify(&verifier(), token.expose(), &fixture().keys, 1, NOW)
                .unwrap();
            assert!(cache.len() <= 3, "{} entries", cache.len());
        }
        assert!(!cache.is_empty());
        assert!(
            VerifiedTokens::new(0)
                .verify(&verifier(), valid_token(), &fixture().keys, 1, NOW)
                .is_ok()
        );
    }
}
