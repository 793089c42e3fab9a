//! Token introspection (RFC 7662) for resource servers that cannot read the store: only a
//! resource server added by an operator (`admin clients add --resource-server`) may ask, with
//! its secret (§2.1), and only about tokens for the resources it serves. An access token is
//! active when it verifies (signature, `typ`, `iss`, `aud`, `exp`/`nbf`) and no revocation
//! reaches it (the same list the MCP server reads, and its grant's status); anything else,
//! refresh tokens included, is `{"active": false}` (§2.2), with no reason given.

use serde::{Deserialize, Serialize};
use shared::audit::AuditEvent;
use shared::secret::Secret;
use shared::store::{ClientRecord, ClientStatus, GrantStatus, TokenIdentity};
use shared::token::{AccessClaims, AccessTokenVerifier, VerificationKeys};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::authorization_code::grant_id_of;
use crate::flows::caller::Caller;
use crate::flows::client_auth::ClientCredentials;

/// The form of `POST /introspect`, as sent.
#[derive(Default, Deserialize)]
pub struct IntrospectionParams {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
}

/// The RFC 7662 §2.2 answer: `{"active": false}` alone, or the active token's claims.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct IntrospectionResponse {
    active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    token: Option<ActiveToken>,
}

/// What is said about an active access token.
#[derive(Debug, Serialize, PartialEq, Eq)]
struct ActiveToken {
    scope: String,
    client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    token_type: &'static str,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    sub: String,
    aud: String,
    iss: String,
    jti: String,
}

impl IntrospectionResponse {
    pub fn inactive() -> Self {
        Self {
            active: false,
            token: None,
        }
    }
}

/// The whole introspection request: the resource server's authentication, then [`introspect`],
/// recorded as a `token.introspected` event (the token itself is never recorded). The
/// `token_type_hint` is read and not needed: the token's form tells which kind it is.
pub async fn handle(
    state: &AppState,
    credentials: &ClientCredentials,
    params: IntrospectionParams,
    caller: &Caller,
) -> Result<IntrospectionResponse, OAuthError> {
    let _hint = params.token_type_hint;
    let resource_server = authenticate(state, credentials).await?;
    let token = Secret::new(
        params
            .token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?,
    );
    let active = introspect(state, &resource_server, &token).await?;
    let origin = audit::origin(state, caller);
    let who = active.as_ref().map(|c| (c.sub.as_str(), c.jti.as_str()));
    let event = AuditEvent::token_introspected(&origin, &resource_server.client_id, who);
    audit::record(state, event).await;
    let Some(claims) = active else {
        return Ok(IntrospectionResponse::inactive());
    };
    let username = match state
        .stores
        .profiles
        .get_many(std::slice::from_ref(&claims.sub))
        .await
    {
        Ok(mut profiles) => profiles.remove(&claims.sub).and_then(|p| p.username),
        Err(e) => {
            // The name is a courtesy: the answer stands without it.
            tracing::warn!(error = %e, "user profile not read for introspection");
            None
        }
    };
    Ok(IntrospectionResponse {
        active: true,
        token: Some(ActiveToken {
            scope: claims.scope,
            client_id: claims.client_id,
            username,
            token_type: "Bearer",
            exp: claims.exp,
            iat: claims.iat,
            nbf: claims.nbf,
            sub: claims.sub,
            aud: claims.aud,
            iss: claims.iss,
            jti: claims.jti,
        }),
    })
}

/// The resource server the credentials name: an active [`ClientRecord::is_resource_server`]
/// record whose secret matches (constant time, against the stored hash). An OAuth client, a
/// public client, an unknown id or a wrong secret are all `invalid_client` (401; with a Basic
/// challenge when Basic was used, as at `/token`), told apart only in the log.
pub async fn authenticate(
    state: &AppState,
    credentials: &ClientCredentials,
) -> Result<ClientRecord, OAuthError> {
    let basic = credentials.used_basic();
    let fail = || OAuthError::invalid_client("resource server authentication failed", basic);
    let secret = match credentials {
        ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. } => secret,
        ClientCredentials::None { .. } => {
            tracing::info!("introspection without a secret refused");
            return Err(fail());
        }
    };
    let client_id = credentials.client_id();
    let record = if client_id.is_document_url() {
        None
    } else {
        state.stores.clients.get(client_id.as_str()).await?
    };
    let Some(record) = record.filter(|r| r.status == ClientStatus::Active) else {
        tracing::info!(%client_id, "introspection by an unknown client refused");
        return Err(fail());
    };
    // Compared before the kind is looked at, so a client learns nothing from the timing.
    let matches = record
        .secret_hash
        .as_ref()
        .is_some_and(|h| secret.matches(h));
    if !matches || !record.is_resource_server() {
        tracing::info!(%client_id, resource_server = record.is_resource_server(), "introspection refused");
        return Err(fail());
    }
    Ok(record)
}

/// The claims of `token` if it is an active access token for one of `resource_server`'s
/// resources; `None` for anything else (malformed, another issuer's or key's, expired, for
/// another resource, revoked by any path, or a refresh token).
pub async fn introspect(
    state: &AppState,
    resource_server: &ClientRecord,
    token: &Secret,
) -> Result<Option<AccessClaims>, OAuthError> {
    if grant_id_of(token).is_some() {
        // Refresh tokens are the client's business with this server, not a resource's.
        return Ok(None);
    }
    let resource = &state.config.resource;
    if !resource_server
        .resources
        .iter()
        .any(|r| r.as_str() == resource)
    {
        // The tokens issued here are all for the configured resource: none is this server's.
        return Ok(None);
    }
    let verifier = AccessTokenVerifier::new(state.config.issuer.clone(), resource.clone());
    let keys = VerificationKeys::from_jwks(&state.tokens.jwks());
    let Ok(claims) = verifier.verify(token.expose(), &keys, state.now()) else {
        return Ok(None);
    };
    let identity = TokenIdentity {
        jti: &claims.jti,
        grant_id: claims.grant_id.as_deref(),
        client_id: &claims.client_id,
        sub: &claims.sub,
        iat: claims.iat,
    };
    if state.stores.revocations.is_revoked(&identity).await? {
        return Ok(None);
    }
    if let Some(grant_id) = claims.grant_id.as_deref() {
        let grant = state.stores.grants.get(grant_id).await?;
        if grant.is_some_and(|g| g.status != GrantStatus::Active) {
            return Ok(None);
        }
    }
    Ok(Some(claims))
}
