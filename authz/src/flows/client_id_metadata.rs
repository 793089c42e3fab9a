//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25):
//! a client_id that is an https URL names a JSON document describing the client. This module
//! decides what such a document must say and remembers documents (and recent failures) in the
//! cache; fetching them safely is the [`DocumentSource`] behind it (`crate::cimd`).

use serde_json::Value;
use shared::oauth::client_id::ClientId;
use shared::oauth::client_metadata::ClientMetadata;
use shared::oauth::client_values::AuthMethod;
use shared::oauth::scope::ScopeCatalogue;
use shared::store::{CacheKind, ClientKind, ClientRecord, ClientStatus, Stores};

use crate::cimd::{DocumentError, DocumentSource, FetchedDocument};
use crate::error::OAuthError;
use crate::flows::registration::validate_metadata;

/// How long a failed fetch is remembered (in the store, so every instance shares it): within it
/// the same client_id is refused at once with the same error, without another fetch, so
/// unauthenticated requests cannot make the server wait on the same dead or slow URL again and
/// again.
pub const FAILURE_CACHE_SECS: u64 = 60;
/// Marks a cached failure; a document is JSON, so it never starts with this.
const FAILURE_MARK: &str = "fetch-failed\n";

impl From<DocumentError> for OAuthError {
    fn from(error: DocumentError) -> Self {
        OAuthError::invalid_client(error.to_string(), false)
    }
}

/// Validates a fetched document for `client_id`: its `client_id` equals the URL, it names the
/// client and its redirect URIs, and it describes a public client.
pub fn validate_document(
    client_id: &str,
    body: &[u8],
    scopes: &ScopeCatalogue,
) -> Result<ClientMetadata, DocumentError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| DocumentError::Invalid("not a JSON object".into()))?;
    if value.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(DocumentError::Invalid(
            "its client_id does not equal the URL it was fetched from".into(),
        ));
    }
    if value.get("client_name").and_then(Value::as_str).is_none() {
        return Err(DocumentError::Invalid("client_name is missing".into()));
    }
    if value.get("redirect_uris").is_none() {
        return Err(DocumentError::Invalid("redirect_uris is missing".into()));
    }
    match value
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
    {
        None => {}
        Some(name) if AuthMethod::parse(name) == Some(AuthMethod::None) => {}
        Some(_) => {
            return Err(DocumentError::Invalid(
                "only public clients (token_endpoint_auth_method \"none\") are supported".into(),
            ));
        }
    }
    let mut metadata = validate_metadata(&value, scopes)
        .map_err(|e| DocumentError::Invalid(e.description().into_owned()))?;
    metadata.token_endpoint_auth_method = AuthMethod::None;
    Ok(metadata)
}

/// The document's metadata, its text and how long it may be cached.
async fn fetch_valid(
    documents: &dyn DocumentSource,
    client_id: &ClientId,
    scopes: &ScopeCatalogue,
) -> Result<(ClientMetadata, String, u64), DocumentError> {
    let FetchedDocument { body, cache_secs } = documents.fetch(client_id.as_str()).await?;
    let metadata = validate_document(client_id.as_str(), &body, scopes)?;
    let text = String::from_utf8(body).map_err(|_| DocumentError::Invalid("not UTF-8".into()))?;
    Ok((metadata, text, cache_secs))
}

/// The client a document URL describes, from the cache or freshly fetched.
pub async fn resolve(
    documents: &dyn DocumentSource,
    stores: &Stores,
    client_id: &ClientId,
    scopes: &ScopeCatalogue,
    now: i64,
) -> Result<ClientRecord, OAuthError> {
    if let Some(cached) = stores
        .cache
        .get(CacheKind::ClientMetadataDocument, client_id.as_str())
        .await?
    {
        if let Some(reason) = cached.value.strip_prefix(FAILURE_MARK) {
            tracing::info!(reason, "client metadata document refused (recent failure)");
            return Err(OAuthError::invalid_client(reason.to_owned(), false));
        }
        if let Ok(metadata) = validate_document(client_id.as_str(), cached.value.as_bytes(), scopes)
        {
            return Ok(record(client_id, metadata, cached.stored_at));
        }
    }
    let (metadata, text, ttl) = match fetch_valid(documents, client_id, scopes).await {
        Ok(fetched) => fetched,
        Err(error) => {
            tracing::info!(reason = %error, "client metadata document refused");
            if error.came_from_fetch() {
                let failure = format!("{FAILURE_MARK}{error}");
                // Not remembering the failure costs only a later fetch: the refusal stands.
                if let Err(e) = stores
                    .cache
                    .put(
                        CacheKind::ClientMetadataDocument,
                        client_id.as_str(),
                        &failure,
                        FAILURE_CACHE_SECS,
                    )
                    .await
                {
                    tracing::warn!(error = %e, "metadata document failure not cached");
                }
            }
            return Err(error.into());
        }
    };
    stores
        .cache
        .put(
            CacheKind::ClientMetadataDocument,
            client_id.as_str(),
            &text,
            ttl,
        )
        .await?;
    Ok(record(client_id, metadata, now))
}

fn record(client_id: &ClientId, metadata: ClientMetadata, fetched_at: i64) -> ClientRecord {
    ClientRecord {
        client_id: client_id.clone(),
        kind: ClientKind::Cimd,
        status: ClientStatus::Active,
        metadata,
        secret_hash: None,
        registration_token_hash: None,
        resources: Vec::new(),
        created_at: fetched_at,
        created_ip: None,
        created_user_agent: None,
        last_used_at: None,
        revision: 0,
        expires_at: None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use shared::clock::{Clock, ManualClock};
    use shared::store::sqlite::SqliteBackend;

    use shared::oauth::redirect_uri::RedirectUri;

    use super::*;
    use crate::cimd::DocumentFetcher;
    use crate::cimd::fetch::MAX_CACHE_SECS;
    use crate::cimd::testing::{
        CountingLookup, fetcher, http_response, loopback_only, serve, serve_for, url,
    };

    const URL: &str = "https://client.test/oauth/metadata.json";

    fn document(client_id: &str) -> String {
        serde_json::json!({
            "client_id": client_id,
            "client_name": "Example <script>",
            "redirect_uris": ["http://127.0.0.1:33418/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
        })
        .to_string()
    }

    #[test]
    fn a_documents_scope_keeps_what_the_deployment_offers() {
        let body = serde_json::json!({
            "client_id": URL,
            "client_name": "Example",
            "redirect_uris": ["http://127.0.0.1:33418/callback"],
            "scope": "costs:read files:write",
        })
        .to_string();
        let files = ScopeCatalogue::parse(Some("files:read files:write"), None).unwrap();
        let scope = |catalogue| {
            validate_document(URL, body.as_bytes(), catalogue)
                .unwrap()
                .scope
        };
        assert_eq!(scope(&files).as_deref(), Some("files:write"));
        assert_eq!(
            scope(&ScopeCatalogue::default()).as_deref(),
            Some("costs:read")
        );
    }

    #[test]
    fn documents_must_describe_themselves() {
        let metadata =
            validate_document(URL, document(URL).as_bytes(), &ScopeCatalogue::default()).unwrap();
        assert_eq!(metadata.token_endpoint_auth_method, AuthMethod::None);
        assert_eq!(metadata.client_name.as_deref(), Some("Example <script>"));
        let cases = [
            (document("https://other.test/oauth/metadata.json"), "does not equal"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "client_name"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x"}"#.to_owned(), "redirect_uris"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x","redirect_uris":["https://a.test/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#.to_owned(), "public"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x","redirect_uris":["javascript:alert(1)"]}"#.to_owned(), "forbidden scheme"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"Good\u202eppA","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "bidirectional"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"Cl\u200baude","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "zero-width"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"\u001b]0;x\u0007","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "control"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x","redirect_uris":["myapp:/cb"]}"#.to_owned(), "reverse domain"),
            ("not json".to_owned(), "JSON"),
        ];
        for (body, why) in cases {
            let err =
                validate_document(URL, body.as_bytes(), &ScopeCatalogue::default()).unwrap_err();
            assert!(err.to_string().contains(why), "{why}: {err}");
        }
    }

    #[tokio::test]
    async fn a_valid_document_is_fetched_once_and_cached_within_bounds() {
        let server = serve_for(
            |port| {
                let doc = document(&format!("https://client.test:{port}/oauth/metadata.json"));
                http_response("200 OK", "cache-control: max-age=999999\r\n", &doc)
            },
            Duration::ZERO,
        )
        .await;
        let client_id = ClientId::from_stored(url(&server));
        let fetcher = fetcher(&server, loopback_only);
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_767_225_600));
        let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock);
        let client = resolve(
            &fetcher,
            &stores,
            &client_id,
            &ScopeCatalogue::default(),
            1_767_225_600,
        )
        .await
        .unwrap();
        assert_eq!(client.kind, ClientKind::Cimd);
        assert_eq!(client.client_id, client_id);
        assert_eq!(
            client.metadata.redirect_uris,
            [RedirectUri::from_stored("http://127.0.0.1:33418/callback")]
        );
        let again = resolve(
            &fetcher,
            &stores,
            &client_id,
            &ScopeCatalogue::default(),
            1_767_225_600,
        )
        .await
        .unwrap();
        assert_eq!(again.metadata, client.metadata);
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "second lookup served from cache"
        );
        let cached = stores
            .cache
            .get(CacheKind::ClientMetadataDocument, client_id.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            cached.expires_at - cached.stored_at,
            MAX_CACHE_SECS as i64,
            "max-age is clamped"
        );
    }

    /// A fetched document that does not describe itself is refused like a failed fetch.
    #[tokio::test]
    async fn a_mismatched_document_is_refused() {
        let server = serve(
            http_response(
                "200 OK",
                "",
                &document("https://elsewhere.test/oauth/metadata.json"),
            ),
            Duration::ZERO,
        )
        .await;
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_767_225_600));
        let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock);
        let err = resolve(
            &fetcher(&server, loopback_only),
            &stores,
            &ClientId::from_stored(url(&server)),
            &ScopeCatalogue::default(),
            1_767_225_600,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err,
            OAuthError::from(DocumentError::Invalid(
                "its client_id does not equal the URL it was fetched from".into(),
            ))
        );
    }

    #[tokio::test]
    async fn a_failed_fetch_is_remembered_briefly_and_answered_without_fetching() {
        let clock = Arc::new(ManualClock::at(1_767_225_600));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), dyn_clock);
        let server = serve(http_response("404 Not Found", "", ""), Duration::ZERO).await;
        let client_id = ClientId::from_stored(url(&server));
        let instance = fetcher(&server, loopback_only);
        let first = resolve(
            &instance,
            &stores,
            &client_id,
            &ScopeCatalogue::default(),
            clock.now(),
        )
        .await
        .unwrap_err();
        assert_eq!(first, OAuthError::from(DocumentError::Status(404)));
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);

        clock.advance(FAILURE_CACHE_SECS as i64 - 1);
        let again = resolve(
            &instance,
            &stores,
            &client_id,
            &ScopeCatalogue::default(),
            clock.now(),
        )
        .await
        .unwrap_err();
        assert_eq!(again, first, "the same error");
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "answered from the failure cache, no fetch"
        );
        // Another instance (another fetcher over the same store) sees the failure too.
        let other = fetcher(&server, loopback_only);
        assert_eq!(
            resolve(
                &other,
                &stores,
                &client_id,
                &ScopeCatalogue::default(),
                clock.now()
            )
            .await
            .unwrap_err(),
            first
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);

        clock.advance(1);
        assert_eq!(
            resolve(
                &instance,
                &stores,
                &client_id,
                &ScopeCatalogue::default(),
                clock.now()
            )
            .await
            .unwrap_err(),
            first
        );
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            2,
            "fetched again once the failure has expired"
        );
    }

    #[tokio::test]
    async fn an_unreachable_document_is_not_fetched_again_within_the_window() {
        let clock = Arc::new(ManualClock::at(1_767_225_600));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), dyn_clock);
        // A port nobody listens on: every fetch is refused. Lookups are counted instead.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let lookups = Arc::new(AtomicUsize::new(0));
        let fetcher = DocumentFetcher::build(
            Arc::new(CountingLookup(lookups.clone())),
            loopback_only,
            Vec::new(),
        );
        let client_id =
            ClientId::from_stored(format!("https://client.test:{port}/oauth/metadata.json"));
        let first = resolve(
            &fetcher,
            &stores,
            &client_id,
            &ScopeCatalogue::default(),
            clock.now(),
        )
        .await
        .unwrap_err();
        assert_eq!(first, OAuthError::from(DocumentError::Unreachable));
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
        let again = resolve(
            &fetcher,
            &stores,
            &client_id,
            &ScopeCatalogue::default(),
            clock.now(),
        )
        .await
        .unwrap_err();
        assert_eq!(again, first);
        assert_eq!(lookups.load(Ordering::SeqCst), 1, "no second fetch");
    }
}
