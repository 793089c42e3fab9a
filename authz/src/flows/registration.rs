//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592): metadata
//! validation, secrets issued once and stored as hashes, the per-address registration limit,
//! expiry of unused clients, and the audit trail.

use serde_json::{Map, Value, json};
use shared::audit::AuditEvent;
use shared::config::Registration;
use shared::oauth::client_id::ClientId;
use shared::oauth::client_metadata::{self, ClientMetadata, MetadataError};
use shared::oauth::scope::ScopeCatalogue;
use shared::secret::Secret;
use shared::store::{ClientKind, ClientRecord, ClientStatus};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::caller::Caller;
use crate::flows::rate_limit;

/// A successful registration: the stored client plus the secrets shown exactly once.
#[derive(Debug)]
pub struct Registered {
    pub client: ClientRecord,
    pub client_secret: Option<Secret>,
    pub registration_access_token: Option<Secret>,
}

/// Validates RFC 7591 §2 metadata ([`client_metadata::validate`]) and maps a refusal to its
/// RFC 7591 §3.2.2 error.
/// `scope` keeps the values `scopes` offers.
pub fn validate_metadata(
    body: &Value,
    scopes: &ScopeCatalogue,
) -> Result<ClientMetadata, OAuthError> {
    client_metadata::validate(body, scopes).map_err(|e| match e {
        MetadataError::RedirectUri(d) => OAuthError::invalid_redirect_uri(d),
        MetadataError::Invalid(d) => OAuthError::invalid_client_metadata(d),
    })
}

/// Counts a registration attempt from the caller (an IPv6 caller by its /64, see
/// [`rate_limit`]); `RateLimited` once the window's limit is spent. Exempt ranges (a shared
/// egress such as Claude's) are not counted; an IPv4-mapped IPv6 caller is compared as IPv4.
pub async fn check_rate(state: &AppState, caller: &Caller) -> Result<(), OAuthError> {
    let Some(ip) = rate_limit::source_ip(caller.ip) else {
        return Ok(());
    };
    if state
        .config
        .register_rate_exempt
        .iter()
        .any(|net| net.contains(&ip))
    {
        return Ok(());
    }
    rate_limit::hit(state, "register", ip, state.config.register_rate_limit).await
}

/// Valid metadata ([`validate_metadata`]) that this deployment admits: with
/// `SMCP_REGISTRATION_REDIRECT_HOSTS`, every redirect URI is on a listed host
/// (`invalid_redirect_uri` naming the first that is not).
pub fn admit_metadata(state: &AppState, body: &Value) -> Result<ClientMetadata, OAuthError> {
    let metadata = validate_metadata(body, &state.config.scopes)?;
    if let Registration::Open {
        redirect_hosts: Some(hosts),
    } = &state.config.registration
        && let Some(outside) = metadata
            .redirect_uris
            .iter()
            .find(|uri| !url::Url::parse(uri.as_str()).is_ok_and(|url| hosts.admits(&url)))
    {
        return Err(OAuthError::invalid_redirect_uri(format!(
            "{outside} is not on a host this server registers clients for"
        )));
    }
    Ok(metadata)
}

/// The whole of `POST /register` (RFC 7591 §3): refused while registration is closed
/// (`access_denied`, before anything is counted), then the caller's rate, the metadata as
/// admitted here, and the client stored.
pub async fn register_new(
    state: &AppState,
    body: &Value,
    caller: &Caller,
) -> Result<Registered, OAuthError> {
    if state.config.registration == Registration::Closed {
        return Err(OAuthError::AccessDenied(
            "registration is closed on this server: ask its operator to add the client".into(),
        ));
    }
    check_rate(state, caller).await?;
    let metadata = admit_metadata(state, body)?;
    register(state, metadata, caller).await
}

fn is_confidential(metadata: &ClientMetadata) -> bool {
    metadata.token_endpoint_auth_method.is_confidential()
}

/// Registers a new dynamic client.
pub async fn register(
    state: &AppState,
    metadata: ClientMetadata,
    caller: &Caller,
) -> Result<Registered, OAuthError> {
    let now = state.now();
    let client_secret = is_confidential(&metadata).then(Secret::generate);
    let registration_access_token = Secret::generate();
    let client = ClientRecord {
        client_id: ClientId::generate(),
        kind: ClientKind::Dcr,
        status: ClientStatus::Active,
        metadata,
        secret_hash: client_secret.as_ref().map(Secret::hash),
        registration_token_hash: Some(registration_access_token.hash()),
        resources: Vec::new(),
        created_at: now,
        created_ip: caller.ip.map(|ip| ip.to_string()),
        created_user_agent: caller.user_agent.clone(),
        last_used_at: None,
        revision: 0,
        expires_at: Some(now + state.config.client_idle_days * 86_400),
    };
    if !state.stores.clients.create(&client).await? {
        // 128 random bits collided: treat as a server fault rather than overwrite.
        tracing::error!("client id collision");
        return Err(OAuthError::ServerError);
    }
    shared::metrics::count(shared::metrics::Metric::ClientsRegistered);
    let origin = audit::origin(state, caller);
    audit::record(state, AuditEvent::client_registered(&origin, &client)).await;
    tracing::info!(client_id = %client.client_id, "client registered");
    Ok(Registered {
        client,
        client_secret,
        registration_access_token: Some(registration_access_token),
    })
}

/// The client the registration access token manages. Any mismatch (unknown client, wrong or
/// missing token) is the same `invalid_token`, so existence does not leak.
pub async fn authenticate(
    state: &AppState,
    client_id: &str,
    token: Option<&Secret>,
) -> Result<ClientRecord, OAuthError> {
    let denied =
        || OAuthError::InvalidToken("the registration access token is missing or invalid".into());
    let token = token.ok_or_else(denied)?;
    let client = state
        .stores
        .clients
        .get(client_id)
        .await?
        .filter(|c| c.kind == ClientKind::Dcr && c.status == ClientStatus::Active)
        .ok_or_else(denied)?;
    match &client.registration_token_hash {
        Some(hash) if token.matches(hash) => Ok(client),
        _ => Err(denied()),
    }
}

/// RFC 7592 §2.2: replaces the client's metadata. A client that becomes confidential gets a
/// new secret; one that becomes public loses its secret.
pub async fn update(
    state: &AppState,
    client: ClientRecord,
    body: &Value,
    caller: &Caller,
) -> Result<Registered, OAuthError> {
    if body.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Err(OAuthError::invalid_request(
            "the body's client_id must equal the client being updated",
        ));
    }
    let metadata = admit_metadata(state, body)?;
    let client_secret = match (
        is_confidential(&client.metadata),
        is_confidential(&metadata),
    ) {
        (false, true) => Some(Secret::generate()),
        _ => None,
    };
    let secret_hash = if is_confidential(&metadata) {
        client_secret
            .as_ref()
            .map(Secret::hash)
            .or(client.secret_hash.clone())
    } else {
        None
    };
    let updated = ClientRecord {
        metadata,
        secret_hash,
        ..client
    };
    if !state.stores.clients.replace(&updated).await? {
        return Err(OAuthError::invalid_request(
            "the client changed meanwhile; read it again and retry",
        ));
    }
    let stored = ClientRecord {
        revision: updated.revision + 1,
        ..updated
    };
    let origin = audit::origin(state, caller);
    audit::record(state, AuditEvent::client_updated(&origin, &stored)).await;
    Ok(Registered {
        client: stored,
        client_secret,
        registration_access_token: None,
    })
}

/// RFC 7592 §2.3: deletes the client.
pub async fn delete(
    state: &AppState,
    client: &ClientRecord,
    caller: &Caller,
) -> Result<(), OAuthError> {
    state
        .stores
        .clients
        .delete(client.client_id.as_str())
        .await?;
    let origin = audit::origin(state, caller);
    audit::record(state, AuditEvent::client_deleted(&origin, client)).await;
    tracing::info!(client_id = %client.client_id, "client deleted");
    Ok(())
}

/// The RFC 7591 §3.2.1 client information response body.
pub fn client_information(state: &AppState, registered: &Registered) -> Value {
    let client = &registered.client;
    let mut body = match serde_json::to_value(&client.metadata) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    body.insert("client_id".into(), json!(client.client_id));
    body.insert("client_id_issued_at".into(), json!(client.created_at));
    if let Some(secret) = &registered.client_secret {
        body.insert("client_secret".into(), json!(secret.expose()));
    }
    if is_confidential(&client.metadata) {
        body.insert("client_secret_expires_at".into(), json!(0));
    }
    if let Some(token) = &registered.registration_access_token {
        body.insert("registration_access_token".into(), json!(token.expose()));
    }
    body.insert(
        "registration_client_uri".into(),
        json!(
            state
                .config
                .issuer_url(&format!("/register/{}", client.client_id))
        ),
    );
    Value::Object(body)
}
