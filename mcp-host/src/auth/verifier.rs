//! Bearer token verification for this resource (RFC 9068): the cached keys, refetched at most
//! every 30 s when a token names an unknown key, and tokens already verified remembered.

use std::sync::Arc;

use shared::clock::Clock;
use shared::config::Config;
use shared::store::RevocationList;
use shared::token::{
    AccessClaims, AccessTokenVerifier, FailedFetch, RefreshingKeys, VerificationKeys,
    VerifiedTokens, VerifyError,
};

use super::jwks::JwksSource;
use crate::scopes::ScopePolicy;

/// How often an unknown `kid` may trigger a JWKS refetch.
pub use shared::token::JWKS_REFETCH_SECS;

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// A token was sent and refused.
    Invalid(VerifyError),
    /// The keys could not be fetched at all.
    KeysUnavailable,
}

/// Verifies bearer tokens for this resource.
pub(crate) struct Authenticator {
    verifier: AccessTokenVerifier,
    /// Tokens already verified (one RSA verification per token, not per request).
    verified: VerifiedTokens,
    source: Arc<dyn JwksSource>,
    /// The keys, refetched by the shared rule; a failed fetch also waits out the interval.
    keys: RefreshingKeys<VerificationKeys>,
    clock: Arc<dyn Clock>,
    /// The URL of this resource's protected-resource metadata, named in every challenge.
    pub(super) resource_metadata: String,
    /// Revocations recorded by the authorization server: of the token itself (RFC 7009), of
    /// the grant it was issued from, of its client or its user.
    pub(super) revocations: Arc<dyn RevocationList>,
    /// The scopes the server's tools need.
    pub(super) scopes: ScopePolicy,
    /// Whether a `tools/call` starts before its revocation check answers
    /// ([`crate::McpHost::overlap_revocation_check`]).
    pub(super) overlap_revocation: bool,
}

impl Authenticator {
    pub(crate) fn new(
        config: &Config,
        source: Arc<dyn JwksSource>,
        clock: Arc<dyn Clock>,
        revocations: Arc<dyn RevocationList>,
        scopes: ScopePolicy,
        overlap_revocation: bool,
    ) -> Self {
        Self {
            revocations,
            scopes,
            overlap_revocation,
            verifier: AccessTokenVerifier::new(&config.issuer, &config.resource),
            verified: VerifiedTokens::default(),
            source,
            keys: RefreshingKeys::new(FailedFetch::Counts),
            clock,
            resource_metadata: config.protected_resource_metadata_url(),
        }
    }

    fn current(&self) -> (Arc<VerificationKeys>, u64) {
        self.keys.current()
    }

    /// Refetches the keys unless that was tried less than 30 s ago; `true` if newer keys than
    /// `seen` are now in place (fetched here or by a concurrent caller).
    async fn refresh(&self, seen: u64) -> bool {
        let fetch = || async {
            let set = self.source.fetch().await?;
            Ok(VerificationKeys::from_jwks(&set))
        };
        match self.keys.refresh(seen, self.clock.now(), fetch).await {
            Ok(newer) => newer,
            Err(e) => {
                let e: super::jwks::JwksError = e;
                tracing::warn!(error = %e, "JWKS fetch failed");
                false
            }
        }
    }

    /// The claims of `token`, refetching the keys once if it names an unknown key.
    pub(crate) async fn verify(&self, token: &str) -> Result<AccessClaims, AuthFailure> {
        let (keys, generation) = self.current();
        let now = self.clock.now();
        match self
            .verified
            .verify(&self.verifier, token, &keys, generation, now)
        {
            Err(VerifyError::UnknownKey(_)) => {
                if self.refresh(generation).await {
                    let (keys, generation) = self.current();
                    self.verified
                        .verify(&self.verifier, token, &keys, generation, self.clock.now())
                        .map_err(AuthFailure::Invalid)
                } else if keys.is_empty() {
                    Err(AuthFailure::KeysUnavailable)
                } else {
                    Err(AuthFailure::Invalid(VerifyError::UnknownKey(String::new())))
                }
            }
            other => other.map_err(AuthFailure::Invalid),
        }
    }
}
