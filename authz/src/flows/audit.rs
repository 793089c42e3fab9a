//! Audit events for the authorization flows (stored as docs/storage.md describes). Never carries a
//! token, code, secret or password. A failed audit write is logged and does not fail the request.

use serde_json::{Map, Value};
use shared::secret::random_id;
use shared::store::AuditEvent;

use crate::AppState;
use crate::flows::caller::Caller;

pub async fn record(
    state: &AppState,
    kind: &str,
    client_id: Option<&str>,
    sub: Option<&str>,
    source: &Caller,
    detail: &[(&str, &str)],
) {
    let event = event(state, kind, client_id, sub, source, detail);
    if let Err(error) = state.stores.audit.append(&event).await {
        tracing::warn!(%error, kind, "audit event not written");
        shared::metrics::count(shared::metrics::Metric::StoreErrors);
    }
}

/// The event [`record`] would append, for a caller that writes it together with other items.
pub fn event(
    state: &AppState,
    kind: &str,
    client_id: Option<&str>,
    sub: Option<&str>,
    source: &Caller,
    detail: &[(&str, &str)],
) -> AuditEvent {
    AuditEvent {
        id: random_id(),
        at_ms: state.clock.now_ms(),
        kind: kind.to_owned(),
        client_id: client_id.map(str::to_owned),
        sub: sub.map(str::to_owned),
        source_ip: source.ip.map(|ip| ip.to_string()),
        user_agent: source.user_agent.clone(),
        detail: detail
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect::<Map<_, _>>(),
    }
}
