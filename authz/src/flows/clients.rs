//! Finding the client a request names: a registered client from the store, or a Client ID
//! Metadata Document when the client_id is an https URL.

use shared::oauth::client_id::ClientId;
use shared::store::{ClientRecord, ClientStatus};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::client_id_metadata;

/// The live, active client for `client_id`, or `None` when there is no such client. A document
/// URL that cannot be fetched or is invalid is `invalid_client` with the reason. Infrastructure
/// failures are errors (`temporarily_unavailable`).
pub async fn resolve(
    state: &AppState,
    client_id: &ClientId,
) -> Result<Option<ClientRecord>, OAuthError> {
    if client_id.is_document_url() {
        return client_id_metadata::resolve(
            state.documents.as_ref(),
            &state.stores,
            client_id,
            state.now(),
        )
        .await
        .map(Some);
    }
    let client = state.stores.clients.get(client_id.as_str()).await?;
    Ok(client.filter(|c| c.status == ClientStatus::Active))
}

/// Records that the client was used and renews the expiry of a dynamically registered client.
/// Losing a race with another writer is fine: the other write renewed it too.
pub async fn touch(state: &AppState, client: &ClientRecord) -> Result<(), OAuthError> {
    if client.kind == shared::store::ClientKind::Cimd {
        return Ok(());
    }
    let now = state.now();
    // Write at most once a minute per client to keep the hot path cheap.
    if client.last_used_at.is_some_and(|at| now - at < 60) {
        return Ok(());
    }
    let mut updated = client.clone();
    updated.last_used_at = Some(now);
    if updated.expires_at.is_some() {
        updated.expires_at = Some(now + state.config.client_idle_days * 86_400);
    }
    state.stores.clients.replace(&updated).await?;
    Ok(())
}
