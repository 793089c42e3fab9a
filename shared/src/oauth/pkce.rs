//! PKCE (RFC 7636): the `S256` code challenge a client sends to `/authorize` and the verifier
//! it proves possession with at `/token`. `plain` is never accepted (OAuth 2.1 §4.1.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::secret::constant_time_eq;

/// Why a PKCE parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge is required")]
    MissingChallenge,
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    #[error("code_challenge must be 43 base64url characters (a SHA-256 digest)")]
    MalformedChallenge,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")]
    MalformedVerifier,
}

/// An `S256` code challenge: base64url (no padding) of a SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// Validates `code_challenge` and `code_challenge_method` from an authorization request.
    /// An absent method means `plain` (RFC 7636 §4.3), which is refused.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge
            .filter(|c| !c.is_empty())
            .ok_or(PkceError::MissingChallenge)?;
        if method != Some("S256") {
            return Err(PkceError::UnsupportedMethod);
        }
        let decodes = URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|digest| digest.len() == 32);
        if challenge.len() != 43 || !decodes {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// The challenge as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The challenge for `verifier` (what a client computes).
    pub fn for_verifier(verifier: &CodeVerifier) -> Self {
        Self(s256(verifier.expose()))
    }
}

/// A `code_verifier`: 43–128 unreserved characters (RFC 7636 §4.1). A secret: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn parse(raw: &str) -> Result<Self, PkceError> {
        let valid = (43..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(PkceError::MalformedVerifier)
        }
    }

    /// A fresh random verifier (for our own leg to the upstream identity provider).
    pub fn generate() -> Self {
        Self(crate::secret::Secret::generate().expose().to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this verifier hashes to the stored `challenge` (RFC 7636 §4.6), in constant time.
    pub fn matches(&self, challenge: &str) -> bool {
        constant_time_eq(s256(&self.0).as_bytes(), challenge.as_bytes())
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = CodeVerifier::parse(VERIFIER).unwrap();
        assert!(verifier.matches(CHALLENGE));
        assert_eq!(CodeChallenge::for_verifier(&verifier).as_str(), CHALLENGE);
        assert!(
            !CodeVerifier::parse(&format!("{VERIFIER}x"))
                .unwrap()
                .matches(CHALLENGE)
        );
    }

    #[test]
    fn challenge_rules() {
        let cases: &[(&str, Option<&str>, Option<&str>, Result<(), PkceError>)] = &[
            ("S256 accepted", Some(CHALLENGE), Some("S256"), Ok(())),
            (
                "missing",
                None,
                Some("S256"),
                Err(PkceError::MissingChallenge),
            ),
            (
                "empty",
                Some(""),
                Some("S256"),
                Err(PkceError::MissingChallenge),
            ),
            (
                "plain refused",
                Some(CHALLENGE),
                Some("plain"),
                Err(PkceError::UnsupportedMethod),
            ),
            (
                "absent method means plain",
                Some(CHALLENGE),
                None,
                Err(PkceError::UnsupportedMethod),
            ),
            (
                "lower-case method",
                Some(CHALLENGE),
                Some("s256"),
                Err(PkceError::UnsupportedMethod),
            ),
            (
                "too short",
                Some("abc"),
                Some("S256"),
                Err(PkceError::MalformedChallenge),
            ),
            (
                "not base64url",
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
                Some("S256"),
                Err(PkceError::MalformedChallenge),
            ),
        ];
        for (what, challenge, method, want) in cases {
            let got = CodeChallenge::parse(*challenge, *method).map(drop);
            assert_eq!(&got, want, "{what}");
        }
    }

    #[test]
    fn verifier_rules() {
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_err());
        let generated = CodeVerifier::generate();
        assert!(CodeVerifier::parse(generated.expose()).is_ok());
        assert_eq!(format!("{generated:?}"), "[redacted]");
    }
}
