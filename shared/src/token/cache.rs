//! A bounded cache of access tokens whose signature and claims have already been verified, so a
//! client that sends the same bearer token on every MCP request pays for one RSA verification
//! per token rather than one per request.
//!
//! Only tokens that passed [`AccessTokenVerifier::verify`] go in, keyed by the exact token text
//! (a hit needs a byte-identical token) and tagged with the generation of the key set that
//! verified them: once the keys are refetched, older entries count as misses and are verified
//! again, so a key withdrawn from the JWKS stops working at once. The time claims are checked on
//! every hit with the verifier's leeway. Revocation is not the cache's business: callers check
//! the revocation list after the cache, on every request.

use std::collections::HashMap;
use std::sync::RwLock;

use super::{AccessClaims, AccessTokenVerifier, VerificationKeys, VerifyError};

/// Entries kept at most; about 1 KiB each (token text and claims).
pub const DEFAULT_CAPACITY: usize = 4096;

struct Entry {
    claims: AccessClaims,
    generation: u64,
}

/// Verified tokens, bounded to a fixed number of entries.
pub struct VerifiedTokens {
    entries: RwLock<HashMap<Box<str>, Entry>>,
    capacity: usize,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl VerifiedTokens {
    /// A cache of at most `capacity` tokens (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// The claims of `token`, from the cache when it was verified under key set `generation`
    /// and is still within its validity period, else by verifying it (and caching the result).
    pub fn verify(
        &self,
        verifier: &AccessTokenVerifier,
        token: &str,
        keys: &VerificationKeys,
        generation: u64,
        now: i64,
    ) -> Result<AccessClaims, VerifyError> {
        if let Some(claims) = self.lookup(token, generation) {
            verifier.check_validity_period(claims.exp, claims.nbf, claims.iat, now)?;
            return Ok(claims);
        }
        let claims = verifier.verify(token, keys, now)?;
        self.insert(token, &claims, generation, now);
        Ok(claims)
    }

    fn lookup(&self, token: &str, generation: u64) -> Option<AccessClaims> {
        let entries = match self.entries.read() {
            Ok(entries) => entries,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries
            .get(token)
            .filter(|entry| entry.generation == generation)
            .map(|entry| entry.claims.clone())
    }

    fn insert(&self, token: &str, claims: &AccessClaims, generation: u64, now: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = match self.entries.write() {
            Ok(entries) => entries,
            Err(poisoned) => poisoned.into_inner(),
        };
        if entries.len() >= self.capacity {
            // Expired tokens and those of older key sets first; if the cache is still full,
            // start over rather than track recency on the read path.
            entries.retain(|_, entry| entry.claims.exp > now && entry.generation == generation);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            token.into(),
            Entry {
                claims: claims.clone(),
                generation,
            },
        );
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        match self.entries.read() {
            Ok(entries) => entries.len(),
            Err(poisoned) => poisoned.into_inner().len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
