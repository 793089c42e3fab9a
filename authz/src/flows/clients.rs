//! Finding the client a request names: a registered client from the store, or a Client ID
//! Metadata Document when the client_id is an https URL. A document's client is recorded in the
//! store on first use (with the address and user agent of that request, and a
//! `client.registered` audit event), so operators see it, and can turn it off, like any other.

use shared::audit::AuditEvent;
use shared::oauth::client_id::ClientId;
use shared::store::{ClientKind, ClientRecord, ClientStatus, StoreError};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::caller::Caller;
use crate::flows::{audit, client_id_metadata};

/// A client found for a request, and whether the store holds it yet (a metadata document's
/// client is not held before its first authorization request).
#[derive(Debug, Clone)]
pub struct Found {
    pub client: ClientRecord,
    pub recorded: bool,
}

/// The live, active client for `client_id`, or `None` when there is no such client (or it was
/// turned off). A document URL that is refused by the host policy (`SMCP_CIMD_HOSTS`), cannot be
/// fetched or is invalid is `invalid_client` with the reason. Infrastructure failures are errors
/// (`temporarily_unavailable`).
pub async fn resolve(
    state: &AppState,
    client_id: &ClientId,
) -> Result<Option<ClientRecord>, OAuthError> {
    Ok(find(state, client_id).await?.map(|found| found.client))
}

/// As [`resolve`], saying whether the client is recorded.
pub async fn find(state: &AppState, client_id: &ClientId) -> Result<Option<Found>, OAuthError> {
    find_read(state, client_id, None).await
}

/// As [`find`], with the store's answer for a registered (not metadata document) client when
/// the caller read it already.
pub async fn find_read(
    state: &AppState,
    client_id: &ClientId,
    registered: Option<Result<Option<ClientRecord>, StoreError>>,
) -> Result<Option<Found>, OAuthError> {
    if !client_id.is_document_url() {
        let client = match registered {
            Some(read) => read?,
            None => state.stores.clients.get(client_id.as_str()).await?,
        };
        // A resource server is no OAuth client: it authenticates only at /introspect.
        return Ok(client
            .filter(|c| c.status == ClientStatus::Active && !c.is_resource_server())
            .map(|client| Found {
                client,
                recorded: true,
            }));
    }
    let admitted =
        url::Url::parse(client_id.as_str()).is_ok_and(|url| state.config.documents.admits(&url));
    if !admitted {
        return Err(OAuthError::invalid_client(
            "client metadata documents from this host are not accepted here",
            false,
        ));
    }
    // The record (its status and history) and the document (its current metadata), at once.
    let (recorded, document) = tokio::join!(
        state.stores.clients.get(client_id.as_str()),
        client_id_metadata::resolve(
            state.documents.as_ref(),
            &state.stores,
            client_id,
            &state.config.scopes,
            state.now()
        )
    );
    let recorded = recorded?;
    if recorded
        .as_ref()
        .is_some_and(|r| r.status != ClientStatus::Active)
    {
        return Ok(None);
    }
    let document = document?;
    Ok(Some(match recorded {
        // The document says what the client is now; the record what happened to it.
        Some(record) => Found {
            client: ClientRecord {
                metadata: document.metadata,
                ..record
            },
            recorded: true,
        },
        None => Found {
            client: document,
            recorded: false,
        },
    }))
}

/// Records a metadata document's client that [`find`] said is not recorded, on its first
/// authorization request, as a registration would: the caller's address and user agent, an idle expiry renewed by use, and a
/// `client.registered` event. Losing the race to a concurrent first use is fine (one record).
/// A failure is logged, never the request's: the client is fetched and checked either way.
pub async fn record_first_use(state: &AppState, client: &ClientRecord, caller: &Caller) {
    if client.kind != ClientKind::Cimd {
        return;
    }
    let now = state.now();
    let client = ClientRecord {
        created_at: now,
        created_ip: caller.ip.map(|ip| ip.to_string()),
        created_user_agent: caller.user_agent.clone(),
        last_used_at: Some(now),
        expires_at: Some(now + state.config.client_idle_days * 86_400),
        ..client.clone()
    };
    match state.stores.clients.create(&client).await {
        Ok(true) => {
            let origin = audit::origin(state, caller);
            audit::record(state, AuditEvent::client_registered(&origin, &client)).await;
            tracing::info!(client_id = %client.client_id, "metadata document client recorded");
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "metadata document client not recorded"),
    }
}

/// Records that the client was used and renews its idle expiry (registered and document
/// clients). Losing a race with another writer is fine: the other write renewed it too.
pub async fn touch(state: &AppState, client: &ClientRecord) -> Result<(), OAuthError> {
    if client.kind == ClientKind::Cimd && client.revision == 0 && client.last_used_at.is_none() {
        // Not recorded (its first use records it).
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use shared::audit::AuditKind;
    use shared::store::PageRequest;

    use super::*;
    use crate::cimd::{DocumentError, DocumentSource, FetchedDocument};
    use crate::test_support::{TestApp, test_app_with};

    const URL: &str = "https://docs.example.com/client.json";

    /// Serves one valid document for every URL, counting the fetches.
    struct Documents(AtomicUsize);

    #[async_trait]
    impl DocumentSource for Documents {
        async fn fetch(&self, client_id: &str) -> Result<FetchedDocument, DocumentError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let body = serde_json::json!({
                "client_id": client_id,
                "client_name": "Docs client",
                "redirect_uris": ["http://127.0.0.1:33418/callback"],
            });
            Ok(FetchedDocument {
                body: body.to_string().into_bytes(),
                cache_secs: 0,
            })
        }
    }

    fn app_with(extra: &[(&str, &str)]) -> (TestApp, Arc<Documents>) {
        let mut app = test_app_with(extra);
        let documents = Arc::new(Documents(AtomicUsize::new(0)));
        app.state.documents = documents.clone();
        (app, documents)
    }

    fn caller() -> Caller {
        Caller {
            ip: Some("192.0.2.44".parse().unwrap()),
            user_agent: Some("docs-client/1.0".into()),
        }
    }

    fn id(raw: &str) -> ClientId {
        ClientId::parse(raw).unwrap()
    }

    #[tokio::test]
    async fn a_document_client_is_recorded_on_first_use_and_can_be_turned_off() {
        let (app, _) = app_with(&[]);
        let state = &app.state;
        let found = find(state, &id(URL)).await.unwrap().unwrap();
        assert!(!found.recorded);
        assert_eq!(found.client.kind, ClientKind::Cimd);
        record_first_use(state, &found.client, &caller()).await;

        let stored = state.stores.clients.get(URL).await.unwrap().unwrap();
        assert_eq!(stored.kind, ClientKind::Cimd);
        assert_eq!(stored.created_ip.as_deref(), Some("192.0.2.44"));
        assert_eq!(
            stored.created_user_agent.as_deref(),
            Some("docs-client/1.0")
        );
        assert!(
            stored.expires_at.is_some(),
            "an idle expiry, like DCR clients"
        );
        let events = state
            .stores
            .audit
            .list_for_client(URL, &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, AuditKind::ClientRegistered);
        assert_eq!(events[0].source_ip.as_deref(), Some("192.0.2.44"));

        // Known now: found as recorded, and a second first use writes nothing more.
        let again = find(state, &id(URL)).await.unwrap().unwrap();
        assert!(again.recorded);
        record_first_use(state, &again.client, &caller()).await;
        let events = state
            .stores
            .audit
            .list_for_client(URL, &PageRequest::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(events.len(), 1);

        // Turned off by an operator: unknown to every flow, and kept past its idle expiry.
        let disabled = state
            .stores
            .clients
            .set_status(URL, ClientStatus::Disabled)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(disabled.expires_at, None);
        assert!(resolve(state, &id(URL)).await.unwrap().is_none());
        state
            .stores
            .clients
            .set_status(URL, ClientStatus::Active)
            .await
            .unwrap();
        assert!(resolve(state, &id(URL)).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn documents_come_only_from_the_hosts_the_policy_admits() {
        let (app, documents) = app_with(&[("SMCP_CIMD_HOSTS", "*.example.com")]);
        assert!(find(&app.state, &id(URL)).await.unwrap().is_some());
        let refused = find(&app.state, &id("https://docs.example.org/client.json"))
            .await
            .unwrap_err();
        assert!(
            format!("{refused:?}").contains("not accepted"),
            "{refused:?}"
        );
        assert_eq!(documents.0.load(Ordering::SeqCst), 1, "nothing fetched");

        let (none, documents) = app_with(&[("SMCP_CIMD_HOSTS", "none")]);
        assert!(find(&none.state, &id(URL)).await.is_err());
        assert_eq!(documents.0.load(Ordering::SeqCst), 0);
        // Registered clients are unaffected by the document policy.
        assert!(
            find(&none.state, &id("some-registered-client"))
                .await
                .unwrap()
                .is_none()
        );
    }
}
