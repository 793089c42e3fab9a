//! Cost control for a source that charges per request (docs/architecture.md, "Policies"): identical
//! requests within a TTL are answered from the store's cache, keyed by the operation, the
//! normalised request and the caller's account scope; and each user has a daily budget of calls
//! that reach Cost Explorer, counted only on cache misses, reset at 00:00 UTC.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::clock::{Clock, rfc3339};
use shared::metrics::{self, Metric};
use shared::store::{CacheKind, CacheStore, RateLimitStore};

use super::CostError;

const DAY_SECS: u64 = 86_400;

/// Why a metered call was not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeteredError {
    #[error(transparent)]
    Cost(#[from] CostError),
    #[error(
        "your daily budget of {budget} Cost Explorer calls is spent; it resets at {resets_at} \
         (identical questions asked again within the cache lifetime are still answered)"
    )]
    BudgetSpent { budget: u64, resets_at: String },
    #[error("the cost cache or call counter is unavailable; try again shortly")]
    Store,
    /// The request's token was refused (revoked, or its check failed) while the cache was read:
    /// the bearer layer answers 401 or 503 instead of the tool's answer.
    #[error("the access token was refused")]
    Refused,
}

/// The cache TTL and the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterSettings {
    pub cache_ttl_secs: u64,
    /// Calls per user per UTC day; 0 turns the budget off.
    pub daily_call_budget: u64,
}

impl Default for MeterSettings {
    fn default() -> Self {
        Self {
            cache_ttl_secs: 3600,
            daily_call_budget: 200,
        }
    }
}

/// The cache and the budget, applied around calls to a metered source.
#[derive(Clone)]
pub struct Meter {
    cache: Arc<dyn CacheStore>,
    counters: Arc<dyn RateLimitStore>,
    clock: Arc<dyn Clock>,
    settings: MeterSettings,
}

impl Meter {
    pub fn new(
        cache: Arc<dyn CacheStore>,
        counters: Arc<dyn RateLimitStore>,
        clock: Arc<dyn Clock>,
        settings: MeterSettings,
    ) -> Self {
        Self {
            cache,
            counters,
            clock,
            settings,
        }
    }

    /// Answers `request` for `user` (whose account scope is `scope`) from the cache, or runs
    /// `call` if the user's budget allows and caches a successful answer. Errors are not cached.
    /// Only the cache read comes before `cleared` answers; without its `true`, nothing is
    /// answered, counted, called or written.
    pub async fn run<Req, Resp, Fut>(
        &self,
        operation: &str,
        request: &Req,
        user: &str,
        scope: &str,
        cleared: impl Future<Output = bool>,
        call: impl FnOnce() -> Fut,
    ) -> Result<Resp, MeteredError>
    where
        Req: Serialize,
        Resp: Serialize + DeserializeOwned,
        Fut: Future<Output = Result<Resp, CostError>>,
    {
        let key = cache_key(operation, request, scope);
        let mut cached = None;
        if self.settings.cache_ttl_secs > 0 {
            match self.cache.get(CacheKind::CostExplorer, &key).await {
                Ok(Some(hit)) => cached = serde_json::from_str(&hit.value).ok(),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cost cache read failed");
                    metrics::count(Metric::StoreErrors);
                }
            }
        }
        // Nothing leaves, is counted or is called before the verdict.
        if !cleared.await {
            return Err(MeteredError::Refused);
        }
        if let Some(value) = cached {
            metrics::count(Metric::CostCacheHits);
            return Ok(value);
        }
        if self.settings.daily_call_budget > 0 {
            let spent = self
                .counters
                .hit(&format!("ce-budget#{user}"), DAY_SECS)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "cost budget counter failed");
                    metrics::count(Metric::StoreErrors);
                    MeteredError::Store
                })?;
            if spent > self.settings.daily_call_budget {
                metrics::count(Metric::CostBudgetsExhausted);
                let now = self.clock.now();
                let day = i64::try_from(DAY_SECS).unwrap_or(86_400);
                let resets = now - now.rem_euclid(day) + day;
                return Err(MeteredError::BudgetSpent {
                    budget: self.settings.daily_call_budget,
                    resets_at: rfc3339(resets),
                });
            }
        }
        metrics::count(Metric::CostExplorerCalls);
        let response = call().await?;
        if self.settings.cache_ttl_secs > 0
            && let Ok(text) = serde_json::to_string(&response)
            && let Err(e) = self
                .cache
                .put(
                    CacheKind::CostExplorer,
                    &key,
                    &text,
                    self.settings.cache_ttl_secs,
                )
                .await
        {
            tracing::warn!(error = %e, "cost cache write failed");
            metrics::count(Metric::StoreErrors);
        }
        Ok(response)
    }
}

/// `operation`, the request as canonical JSON (object keys sorted), and the account scope.
fn cache_key(operation: &str, request: &impl Serialize, scope: &str) -> String {
    let body = serde_json::to_value(request)
        .map(|v| v.to_string())
        .unwrap_or_default();
    format!("{operation}\n{scope}\n{body}")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use shared::clock::ManualClock;
    use shared::store::Stores;
    use shared::store::sqlite::SqliteBackend;

    use super::*;

    fn meter(budget: u64) -> (Meter, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::at(1_800_000_000));
        let backend = Arc::new(SqliteBackend::in_memory().unwrap());
        let stores = Stores::new(backend, clock.clone());
        let settings = MeterSettings {
            cache_ttl_secs: 60,
            daily_call_budget: budget,
        };
        (
            Meter::new(stores.cache, stores.rate_limits, clock.clone(), settings),
            clock,
        )
    }

    async fn cleared() -> bool {
        true
    }

    #[tokio::test]
    async fn a_refused_token_reaches_neither_the_budget_nor_the_source() {
        let (meter, _) = meter(1);
        let calls = AtomicUsize::new(0);
        let call = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, CostError>(5u32)
        };
        let refused = meter
            .run("Op", &1, "alice", "*", async { false }, call)
            .await
            .unwrap_err();
        assert_eq!(refused, MeteredError::Refused);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // Nothing was counted: the budget of one call is still whole.
        let answered: u32 = meter
            .run("Op", &1, "alice", "*", cleared(), call)
            .await
            .unwrap();
        assert_eq!((answered, calls.load(Ordering::SeqCst)), (5, 1));
        // A cached answer is read before the verdict, and not answered without it.
        let refused = meter
            .run::<_, u32, _>("Op", &1, "alice", "*", async { false }, call)
            .await
            .unwrap_err();
        assert_eq!(
            (refused, calls.load(Ordering::SeqCst)),
            (MeteredError::Refused, 1)
        );
        let cached: u32 = meter
            .run("Op", &1, "alice", "*", cleared(), call)
            .await
            .unwrap();
        assert_eq!((cached, calls.load(Ordering::SeqCst)), (5, 1));
    }

    #[tokio::test]
    async fn identical_requests_within_the_ttl_reach_the_source_once_per_scope() {
        let (meter, clock) = meter(100);
        let calls = AtomicUsize::new(0);
        let call = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, CostError>(vec![1, 2, 3])
        };
        let a: Vec<i32> = meter
            .run("Op", &("x", 1), "alice", "*", cleared(), call)
            .await
            .unwrap();
        let b: Vec<i32> = meter
            .run("Op", &("x", 1), "bob", "*", cleared(), call)
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let _: Vec<i32> = meter
            .run("Op", &("x", 1), "carol", "222222222222", cleared(), call)
            .await
            .unwrap();
        let _: Vec<i32> = meter
            .run("Op", &("x", 2), "alice", "*", cleared(), call)
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        clock.advance(61);
        let _: Vec<i32> = meter
            .run("Op", &("x", 1), "alice", "*", cleared(), call)
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_spent_budget_answers_with_the_reset_time() {
        let (meter, _) = meter(2);
        for i in 0..2 {
            let _: u32 = meter
                .run("Op", &i, "alice", "*", cleared(), || async { Ok(1) })
                .await
                .unwrap();
        }
        let err = meter
            .run::<_, u32, _>("Op", &9, "alice", "*", cleared(), || async { Ok(1) })
            .await
            .unwrap_err();
        assert_eq!(
            err,
            MeteredError::BudgetSpent {
                budget: 2,
                resets_at: "2027-01-16T00:00:00Z".into()
            }
        );
        // Cached answers stay available; other users have their own budget.
        let _: u32 = meter
            .run("Op", &0, "alice", "*", cleared(), || async { Ok(1) })
            .await
            .unwrap();
        let _: u32 = meter
            .run("Op", &9, "bob", "*", cleared(), || async { Ok(1) })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let (meter, _) = meter(100);
        let err = meter
            .run::<_, u32, _>("Op", &1, "alice", "*", cleared(), || async {
                Err(CostError::Throttled)
            })
            .await
            .unwrap_err();
        assert_eq!(err, MeteredError::Cost(CostError::Throttled));
        let ok: u32 = meter
            .run("Op", &1, "alice", "*", cleared(), || async { Ok(7) })
            .await
            .unwrap();
        assert_eq!(ok, 7);
    }
}
