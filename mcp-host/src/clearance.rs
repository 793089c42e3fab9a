//! Whether a request's revocation check has passed, for the tool calls of a server that lets the
//! check run beside its own first reads ([`crate::McpHost::overlap_revocation_check`]).
//!
//! A tool of such a server may read (a cache, say) before the verdict is known, and waits on the
//! [`Clearance`] before anything with an effect: a write, a charged upstream call. The bearer
//! layer holds the response until the verdict, and a refused token gets its 401 and never the
//! tool's answer. Every other request is checked before the server runs, and its clearance is
//! granted from the start.

use rmcp::ErrorData;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use tokio::sync::watch;

/// The revocation verdict of one request, in its HTTP request extensions beside the
/// [`crate::Caller`], and a tool parameter (`clearance: Clearance`).
#[derive(Debug, Clone)]
pub struct Clearance(Verdict);

#[derive(Debug, Clone)]
enum Verdict {
    /// Checked before the server ran.
    Granted,
    /// Being checked: `None` until the verdict, then whether the token stands.
    Pending(watch::Receiver<Option<bool>>),
}

/// The bearer layer's side of a pending [`Clearance`]. Dropped without a verdict (the check
/// failed or was cancelled), it refuses.
pub(crate) struct Verdictor(watch::Sender<Option<bool>>);

impl Verdictor {
    pub(crate) fn decide(self, stands: bool) {
        // No receiver left means no tool is waiting: nothing to tell.
        let _ = self.0.send(Some(stands));
    }
}

impl Clearance {
    /// The token was checked before the server ran.
    pub(crate) fn granted() -> Self {
        Self(Verdict::Granted)
    }

    /// A clearance to be decided by the returned [`Verdictor`].
    pub(crate) fn pending() -> (Verdictor, Self) {
        let (tx, rx) = watch::channel(None);
        (Verdictor(tx), Self(Verdict::Pending(rx)))
    }

    /// Waits for the verdict: `true` if the token stands (not revoked and the check answered).
    /// A tool that gets `false` must do nothing further; its answer is never delivered.
    pub async fn wait(&self) -> bool {
        match &self.0 {
            Verdict::Granted => true,
            Verdict::Pending(rx) => {
                let mut rx = rx.clone();
                match rx.wait_for(Option::is_some).await {
                    Ok(verdict) => *verdict == Some(true),
                    Err(_) => false,
                }
            }
        }
    }
}

/// A tool parameter: the clearance of the call's request; a JSON-RPC `invalid_request` error for
/// a handler reached without the bearer layer.
impl<C: AsRequestContext> FromContextPart<C> for Clearance {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        crate::caller::bearer_extension(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pending_clearance_follows_its_verdict() {
        assert!(Clearance::granted().wait().await);

        let (verdict, clearance) = Clearance::pending();
        let waiting = tokio::spawn({
            let clearance = clearance.clone();
            async move { clearance.wait().await }
        });
        verdict.decide(true);
        assert!(waiting.await.unwrap());
        assert!(clearance.wait().await);

        let (verdict, clearance) = Clearance::pending();
        verdict.decide(false);
        assert!(!clearance.wait().await);

        let (verdict, clearance) = Clearance::pending();
        drop(verdict);
        assert!(
            !clearance.wait().await,
            "a check that never answered refuses"
        );
    }
}
