//! Bearer token verification for this resource (RFC 9068): the cached keys, refetched at most
//! every 30 s when a token names an unknown key, and tokens already verified remembered.

use std::sync::{Arc, RwLock};

use shared::clock::Clock;
use shared::config::Config;
use shared::store::RevocationList;
use shared::token::{
    AccessClaims, AccessTokenVerifier, VerificationKeys, VerifiedTokens, VerifyError,
};

use super::jwks::JwksSource;

/// How often an unknown `kid` may trigger a JWKS refetch.
pub const JWKS_REFETCH_SECS: i64 = 30;

/// Verification keys with the time of the last fetch attempt.
struct KeyState {
    keys: Arc<VerificationKeys>,
    generation: u64,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// A token was sent and refused.
    Invalid(VerifyError),
    /// The keys could not be fetched at all.
    KeysUnavailable,
}

/// Verifies bearer tokens for this resource.
pub struct Authenticator {
    verifier: AccessTokenVerifier,
    /// Tokens already verified (one RSA verification per token, not per request).
    verified: VerifiedTokens,
    source: Arc<dyn JwksSource>,
    state: RwLock<KeyState>,
    /// Serialises refetches; holds the time of the last attempt.
    last_fetch: tokio::sync::Mutex<Option<i64>>,
    clock: Arc<dyn Clock>,
    /// The URL of this resource's protected-resource metadata, named in every challenge.
    pub(super) resource_metadata: String,
    /// Revocations recorded by the authorization server: of the token itself (RFC 7009), of
    /// the grant it was issued from, of its client or its user.
    pub(super) revocations: Arc<dyn RevocationList>,
}

impl Authenticator {
    pub fn new(
        config: &Config,
        source: Arc<dyn JwksSource>,
        clock: Arc<dyn Clock>,
        revocations: Arc<dyn RevocationList>,
    ) -> Self {
        Self {
            revocations,
            verifier: AccessTokenVerifier::new(&config.issuer, &config.resource),
            verified: VerifiedTokens::default(),
            source,
            state: RwLock::new(KeyState {
                keys: Arc::new(VerificationKeys::default()),
                generation: 0,
            }),
            last_fetch: tokio::sync::Mutex::new(None),
            clock,
            resource_metadata: config.protected_resource_metadata_url(),
        }
    }

    fn current(&self) -> (Arc<VerificationKeys>, u64) {
        match self.state.read() {
            Ok(state) => (state.keys.clone(), state.generation),
            Err(poisoned) => {
                let state = poisoned.into_inner();
                (state.keys.clone(), state.generation)
            }
        }
    }

    /// Refetches the keys unless that was tried less than 30 s ago; `true` if newer keys than
    /// `seen` are now in place (fetched here or by a concurrent caller).
    async fn refresh(&self, seen: u64) -> bool {
        let mut last = self.last_fetch.lock().await;
        if self.current().1 != seen {
            return true;
        }
        let now = self.clock.now();
        if last.is_some_and(|at| now - at < JWKS_REFETCH_SECS) {
            return false;
        }
        *last = Some(now);
        match self.source.fetch().await {
            Ok(set) => {
                let keys = Arc::new(VerificationKeys::from_jwks(&set));
                let mut state = match self.state.write() {
                    Ok(state) => state,
                    Err(poisoned) => poisoned.into_inner(),
                };
                state.keys = keys;
                state.generation += 1;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS fetch failed");
                false
            }
        }
    }

    /// The claims of `token`, refetching the keys once if it names an unknown key.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, AuthFailure> {
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
