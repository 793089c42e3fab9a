//! Random secrets and their stored form: 256-bit values, kept only as SHA-256 hashes and
//! compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// A secret value (code, token, client secret, password) that never prints itself.
///
/// Deliberately not `PartialEq`: a derived `==` stops at the first differing byte, and its
/// timing tells an attacker how much of a guess was right. Compare with [`Secret::ct_eq`] or
/// [`Secret::matches`], both constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// 256 bits from the operating system's CSPRNG, base64url without padding (43 characters).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value itself, for the one place that must send or verify it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the value, lower-case hex: what the store keeps.
    pub fn hash(&self) -> Sha256Hex {
        Sha256Hex(sha256_hex(self.0.as_bytes()))
    }

    /// Whether two secrets are equal, in time that does not depend on where they differ.
    pub fn ct_eq(&self, other: &Secret) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }

    /// Whether this secret hashes to `stored_hash`, compared in constant time.
    pub fn matches(&self, stored_hash: &Sha256Hex) -> bool {
        constant_time_eq(self.hash().0.as_bytes(), stored_hash.0.as_bytes())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The stored form of a secret ([`Secret::hash`]): its SHA-256 in lower-case hex. Serialised as
/// the bare string. Compare a secret against it with [`Secret::matches`] (constant time).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// A hash read back from the store, taken as it is.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Sha256Hex {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Equality whose running time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A random identifier (128 bits, base64url) for records that are not secrets.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_256_bit_and_distinct() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_eq!(a.expose().len(), 43);
        assert!(!a.ct_eq(&b));
        assert!(a.ct_eq(&a.clone()));
    }

    /// Method resolution picks an inherent method over a trait method, so `Probe::<T>::has_eq`
    /// answers `true` exactly when `T: PartialEq`: a check at run time that `Secret` has no
    /// (variable-time) `==` for anyone to reach for.
    #[test]
    fn secrets_have_no_variable_time_equality() {
        use std::marker::PhantomData;
        struct Probe<T>(PhantomData<T>);
        trait NoEq {
            fn has_eq(&self) -> bool {
                false
            }
        }
        impl<T> NoEq for Probe<T> {}
        impl<T: PartialEq> Probe<T> {
            #[allow(dead_code)]
            fn has_eq(&self) -> bool {
                true
            }
        }
        assert!(Probe::<String>(PhantomData).has_eq(), "the probe works");
        assert!(
            !Probe::<Secret>(PhantomData).has_eq(),
            "Secret must not implement PartialEq; use ct_eq or matches"
        );
        assert!(Secret::new("a").ct_eq(&Secret::new("a")));
        assert!(!Secret::new("a").ct_eq(&Secret::new("ab")));
        assert!(!Secret::new("ab").ct_eq(&Secret::new("ac")));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn matches_only_its_own_hash() {
        let s = Secret::new("s3cret");
        assert!(s.matches(&s.hash()));
        assert!(!Secret::new("s3cret!").matches(&s.hash()));
        assert!(!s.matches(&Sha256Hex::from_stored("")));
        assert_eq!(s.hash().as_str(), sha256_hex(b"s3cret"));
        assert_eq!(
            serde_json::to_value(s.hash()).unwrap(),
            serde_json::json!(sha256_hex(b"s3cret"))
        );
    }

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("do-not-print");
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
    }
}
