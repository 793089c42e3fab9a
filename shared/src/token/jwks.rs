//! JSON Web Keys (RFC 7517) as published at `/jwks.json`, RFC 7638 key thumbprints, and the
//! pre-parsed verification keys the resource server checks RS256 signatures with.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// One public key of a JWK Set. Only RSA signing keys are published here; keys of other kinds in
/// a fetched set still parse (their RSA members stay empty) and are skipped by
/// [`VerificationKeys`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alg: String,
    #[serde(rename = "use", default, skip_serializing_if = "String::is_empty")]
    pub use_: String,
    /// Modulus, base64url without padding.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub n: String,
    /// Public exponent, base64url without padding.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub e: String,
}

impl Jwk {
    /// The RS256 signing key with modulus `n` and exponent `e` (big-endian bytes), its `kid`
    /// being its RFC 7638 thumbprint.
    pub fn rsa(n: &[u8], e: &[u8]) -> Self {
        let n = URL_SAFE_NO_PAD.encode(strip_leading_zeros(n));
        let e = URL_SAFE_NO_PAD.encode(strip_leading_zeros(e));
        Self {
            kty: "RSA".to_owned(),
            kid: rsa_thumbprint(&n, &e),
            alg: "RS256".to_owned(),
            use_: "sig".to_owned(),
            n,
            e,
        }
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// RFC 7638 thumbprint of an RSA key: base64url(SHA-256(`{"e":…,"kty":"RSA","n":…}`)), the
/// members in lexicographic order without whitespace. `n` and `e` are already base64url.
pub fn rsa_thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Big-endian integers in JWKs carry no leading zero octets (RFC 7518 §6.3.1).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// The keys a token may be verified with, keyed by `kid` and parsed once per fetched JWKS so
/// that verifying a token does no key parsing.
#[derive(Clone, Default)]
pub struct VerificationKeys {
    keys: HashMap<String, DecodingKey>,
}

impl VerificationKeys {
    /// Keeps the RSA keys usable for RS256 signatures (`kty` RSA, `alg` RS256 or absent, `use`
    /// sig or absent, a `kid`, a modulus of at least 2048 bits); skips every other key. When two
    /// keys share a `kid`, the first wins.
    pub fn from_jwks(set: &JwkSet) -> Self {
        let mut keys = HashMap::with_capacity(set.keys.len());
        for jwk in &set.keys {
            if let Some(key) = decoding_key(jwk) {
                keys.entry(jwk.kid.clone()).or_insert(key);
            }
        }
        Self { keys }
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.get(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids held, in no particular order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }
}

impl From<&JwkSet> for VerificationKeys {
    fn from(set: &JwkSet) -> Self {
        Self::from_jwks(set)
    }
}

impl std::fmt::Debug for VerificationKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKeys")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

const MIN_MODULUS_BITS: usize = 2048;

fn decoding_key(jwk: &Jwk) -> Option<DecodingKey> {
    let usable = jwk.kty == "RSA"
        && (jwk.alg.is_empty() || jwk.alg == "RS256")
        && (jwk.use_.is_empty() || jwk.use_ == "sig")
        && !jwk.kid.is_empty();
    if !usable {
        return None;
    }
    let n = URL_SAFE_NO_PAD.decode(&jwk.n).ok()?;
    let e = URL_SAFE_NO_PAD.decode(&jwk.e).ok()?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let bits = n
        .first()
        .map(|top| n.len().saturating_sub(1) * 8 + (8 - top.leading_zeros() as usize));
    if bits.unwrap_or(0) < MIN_MODULUS_BITS || e.is_empty() {
        return None;
    }
    Some(DecodingKey::from_rsa_raw_components(n, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        assert_eq!(
            rsa_thumbprint(RFC7638_N, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rsa_jwk_from_components_uses_the_thumbprint_as_kid() {
        let n = URL_SAFE_NO_PAD.decode(RFC7638_N).unwrap();
        let mut padded = vec![0u8];
        padded.extend_from_slice(&n);
        let jwk = Jwk::rsa(&padded, &[0, 1, 0, 1]);
        assert_eq!(jwk.n, RFC7638_N);
        assert_eq!(jwk.e, "AQAB");
        assert_eq!(jwk.kid, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let json = serde_json::to_value(&jwk).unwrap();
        assert_eq!(json["alg"], "RS256");
        assert_eq!(json["use"], "sig");
        assert_eq!(json["kty"], "RSA");
    }

    #[test]
    fn verification_keys_skip_what_cannot_verify_rs256() {
        let good = Jwk::rsa(&URL_SAFE_NO_PAD.decode(RFC7638_N).unwrap(), &[1, 0, 1]);
        let json = serde_json::json!({ "keys": [
            serde_json::to_value(&good).unwrap(),
            { "kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA" },
            { "kty": "RSA", "kid": "ps", "alg": "PS256", "n": good.n, "e": good.e },
            { "kty": "RSA", "kid": "enc", "use": "enc", "n": good.n, "e": good.e },
            { "kty": "RSA", "n": good.n, "e": good.e },
            { "kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "noalg", "n": good.n, "e": good.e },
            { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" },
        ]});
        let set: JwkSet = serde_json::from_value(json).unwrap();
        let keys = VerificationKeys::from_jwks(&set);
        let mut kids: Vec<_> = keys.kids().collect();
        kids.sort_unstable();
        assert_eq!(kids, vec![good.kid.as_str(), "noalg"]);
    }
}
