//! The one rule for a JWK Set (RFC 7517 §5) fetched from elsewhere and kept in memory: fetched
//! when a key is needed that the set held lacks, at most once every [`JWKS_REFETCH_SECS`], each
//! successful fetch replacing the set and bumping its generation. Used by the resource server's
//! bearer layer (our own keys) and by the Cognito login (the user pool's keys); where the set
//! comes from, and what a failed fetch means to the caller, stay with each of them.

use std::future::Future;
use std::sync::{Arc, RwLock};

/// How often a key the held set lacks may trigger a refetch.
pub const JWKS_REFETCH_SECS: i64 = 30;

/// Whether a failed fetch counts against the refetch interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedFetch {
    /// A failed attempt waits out the interval like a successful one (a resource server under
    /// a stream of requests does not hammer an authorization server that is down).
    Counts,
    /// Only successful fetches start the interval; after a failure the next need fetches again
    /// (a login the user retries gets a fresh attempt).
    Retried,
}

struct Held<T> {
    keys: Arc<T>,
    generation: u64,
}

/// Keys of type `T` (a parsed form of the fetched set), with their generation.
pub struct RefreshingKeys<T> {
    held: RwLock<Held<T>>,
    /// Serialises refetches; holds the time of the last attempt that counts.
    last_fetch: tokio::sync::Mutex<Option<i64>>,
    failed: FailedFetch,
}

impl<T: Default> RefreshingKeys<T> {
    /// No keys yet (generation 0): the first need fetches.
    pub fn new(failed: FailedFetch) -> Self {
        Self {
            held: RwLock::new(Held {
                keys: Arc::new(T::default()),
                generation: 0,
            }),
            last_fetch: tokio::sync::Mutex::new(None),
            failed,
        }
    }
}

impl<T> RefreshingKeys<T> {
    /// The keys held and their generation (0 until the first successful fetch).
    pub fn current(&self) -> (Arc<T>, u64) {
        let held = match self.held.read() {
            Ok(held) => held,
            Err(poisoned) => poisoned.into_inner(),
        };
        (held.keys.clone(), held.generation)
    }

    /// Fetches new keys unless the last attempt that counts was less than
    /// [`JWKS_REFETCH_SECS`] before `now`. `Ok(true)` when keys newer than generation `seen`
    /// are now held (fetched here or by a concurrent caller), `Ok(false)` when it is too soon,
    /// and the fetch's error when it failed (the keys held stay).
    pub async fn refresh<E, F, Fut>(&self, seen: u64, now: i64, fetch: F) -> Result<bool, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut last = self.last_fetch.lock().await;
        if self.current().1 != seen {
            return Ok(true);
        }
        if last.is_some_and(|at| now - at < JWKS_REFETCH_SECS) {
            return Ok(false);
        }
        if self.failed == FailedFetch::Counts {
            *last = Some(now);
        }
        let keys = fetch().await?;
        *last = Some(now);
        let mut held = match self.held.write() {
            Ok(held) => held,
            Err(poisoned) => poisoned.into_inner(),
        };
        held.keys = Arc::new(keys);
        held.generation += 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ok(n: u32) -> Result<u32, &'static str> {
        Ok(n)
    }

    async fn down() -> Result<u32, &'static str> {
        Err("down")
    }

    #[tokio::test]
    async fn refetches_at_most_every_interval() {
        let keys = RefreshingKeys::<u32>::new(FailedFetch::Counts);
        assert_eq!(keys.current().1, 0);
        assert_eq!(keys.refresh(0, 100, || ok(1)).await, Ok(true));
        assert_eq!((*keys.current().0, keys.current().1), (1, 1));
        // Too soon after the last fetch.
        assert_eq!(keys.refresh(1, 129, || ok(2)).await, Ok(false));
        // A caller that saw an older generation is told newer keys are there.
        assert_eq!(keys.refresh(0, 129, || ok(2)).await, Ok(true));
        assert_eq!(keys.refresh(1, 130, || ok(2)).await, Ok(true));
        assert_eq!((*keys.current().0, keys.current().1), (2, 2));
    }

    #[tokio::test]
    async fn a_failure_waits_out_the_interval_only_when_it_counts() {
        let counts = RefreshingKeys::<u32>::new(FailedFetch::Counts);
        assert_eq!(counts.refresh(0, 100, down).await, Err("down"));
        assert_eq!(counts.refresh(0, 110, || ok(1)).await, Ok(false));
        assert_eq!(counts.refresh(0, 130, || ok(1)).await, Ok(true));

        let retried = RefreshingKeys::<u32>::new(FailedFetch::Retried);
        assert_eq!(retried.refresh(0, 100, down).await, Err("down"));
        assert_eq!(retried.refresh(0, 110, || ok(1)).await, Ok(true));
        assert_eq!(retried.current().1, 1);
    }
}
