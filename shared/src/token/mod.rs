//! Access tokens: RFC 9068 JWTs signed RS256 by the authorization server ([`TokenIssuer`]) and
//! checked by the resource server ([`AccessTokenVerifier`]) against the published JWK Set
//! (RFC 7517, [`JwkSet`]).
//!
//! The signing key is either a local RSA key in the data dir ([`LocalSigner`]) or an AWS KMS key
//! ([`KmsSigner`]); both sign the same bytes, so tokens are assembled here rather than by a JWT
//! library. Key ids are RFC 7638 thumbprints.

pub mod cache;
pub mod claims;
#[cfg(feature = "runtime")]
pub mod fetch;
#[cfg(feature = "runtime")]
pub mod issue;
pub mod jwks;
#[cfg(feature = "runtime")]
pub mod refresh;
#[cfg(feature = "runtime")]
pub mod signer;
pub mod verify;

pub use cache::VerifiedTokens;
pub use claims::AccessClaims;
#[cfg(feature = "runtime")]
pub use issue::TokenIssuer;
pub use jwks::{Jwk, JwkSet, VerificationKeys};
#[cfg(feature = "runtime")]
pub use refresh::{FailedFetch, JWKS_REFETCH_SECS, RefreshingKeys};
#[cfg(feature = "runtime")]
pub use signer::{KeyError, KmsSigner, LocalSigner, SignError, Signer};
pub use verify::{AccessTokenVerifier, VerifyError};

/// The longest lifetime an access token is given (configuration refuses more).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 3600;

/// How long a token issued just before a revocation can still pass verification: its longest
/// lifetime plus the verifier's leeway. Revocations of grants, clients and users are kept this
/// long.
pub const REVOCATION_HORIZON_SECS: i64 = MAX_ACCESS_TOKEN_TTL_SECS + verify::DEFAULT_LEEWAY_SECS;

/// The JOSE `typ` of an RFC 9068 access token (§2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};

    /// A directory under the system temp dir, removed on drop.
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> Self {
            let path = std::env::temp_dir()
                .join(format!("shared-token-test-{}", crate::secret::random_id()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
