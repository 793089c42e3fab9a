//! Writing the authorization flows' audit events (stored as docs/storage.md describes; the
//! events themselves, their kinds and details, are `shared::audit`'s). A failed audit write is
//! logged and does not fail the request.

use shared::audit::{AuditEvent, Origin};

use crate::AppState;
use crate::flows::caller::Caller;

/// Now, from `source`: where the events of a request come from.
pub fn origin(state: &AppState, source: &Caller) -> Origin {
    Origin::request(
        state.clock.now_ms(),
        source.ip.map(|ip| ip.to_string()),
        source.user_agent.clone(),
    )
}

/// Appends `event` to the audit trail; a failure is logged and counted, not returned.
pub async fn record(state: &AppState, event: AuditEvent) {
    if let Err(error) = state.stores.audit.append(&event).await {
        tracing::warn!(%error, kind = %event.kind, "audit event not written");
        shared::metrics::count(shared::metrics::Metric::StoreErrors);
    }
}
