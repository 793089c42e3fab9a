//! Token revocation (RFC 7009): a refresh token revokes its whole grant, access tokens issued from
//! it included (§2.1); an access token is revoked by `jti` until it would stop verifying (its
//! expiry plus the verifier's leeway), where the resource server looks. Unknown,
//! invalid or foreign tokens are answered like successes (RFC 7009 §2.2).

use serde::Deserialize;
use shared::audit::AuditEvent;
use shared::secret::Secret;
use shared::store::{ClientRecord, GrantRecord, GrantStatus, Revoked, StoreError};
use shared::token::verify::DEFAULT_LEEWAY_SECS;
use shared::token::{AccessTokenVerifier, VerificationKeys};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::authorization_code::grant_id_of;
use crate::flows::caller::Caller;
use crate::flows::client_auth::{self, ClientCredentials};

/// The form of `POST /revoke`, as sent.
#[derive(Default, Deserialize)]
pub struct RevocationParams {
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
}

/// The whole revocation request: client authentication (RFC 6749 §2.3), then [`revoke`]. The
/// `token_type_hint` is read and not needed: the token's form tells which kind it is. A refresh
/// token's grant is read beside the client's authentication: only a read, looked at once the
/// client is authenticated.
pub async fn handle(
    state: &AppState,
    credentials: &ClientCredentials,
    params: RevocationParams,
    caller: &Caller,
) -> Result<(), OAuthError> {
    let _hint = params.token_type_hint;
    let token = params.token.filter(|t| !t.is_empty()).map(Secret::new);
    let grant = async {
        match token.as_ref().and_then(grant_id_of) {
            Some(grant_id) => Some(state.stores.grants.get(grant_id).await),
            None => None,
        }
    };
    let (client, grant) = tokio::join!(client_auth::authenticate(state, credentials), grant);
    let client = client?;
    let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    revoke(state, &client, &token, grant, caller).await
}

/// Revokes `token` for `client`: a refresh token's grant (`grant` is what was read of it), or
/// an access token by its `jti`. Anything not the client's, unknown or invalid is left alone,
/// and answered alike (RFC 7009 §2.2).
pub async fn revoke(
    state: &AppState,
    client: &ClientRecord,
    token: &Secret,
    grant: Option<Result<Option<GrantRecord>, StoreError>>,
    source: &Caller,
) -> Result<(), OAuthError> {
    if let Some(read) = grant {
        let Some(grant) = read? else {
            return Ok(());
        };
        let grant_id = grant.grant_id.as_str();
        let presented_is_ours = token.matches(&grant.refresh_hash)
            || grant
                .previous_refresh_hash
                .as_ref()
                .is_some_and(|h| token.matches(h));
        if grant.client_id == client.client_id
            && grant.status == GrantStatus::Active
            && presented_is_ours
            && state.stores.grants.revoke(grant_id).await?
        {
            shared::metrics::count(shared::metrics::Metric::TokensRevoked);
            let origin = audit::origin(state, source);
            let event = AuditEvent::grant_revoked_by_client(
                &origin,
                &client.client_id,
                &grant.sub,
                grant_id,
            );
            audit::record(state, event).await;
        }
        return Ok(());
    }
    let now = state.now();
    let verifier =
        AccessTokenVerifier::new(state.config.issuer.clone(), state.config.resource.clone());
    let keys = VerificationKeys::from_jwks(&state.tokens.jwks());
    let Ok(claims) = verifier.verify(token.expose(), &keys, now) else {
        return Ok(());
    };
    if claims.client_id != client.client_id.as_str() {
        return Ok(());
    }
    // Kept through the verifier's leeway, during which the token still verifies.
    state
        .stores
        .revocations
        .revoke(
            Revoked::Token(&claims.jti),
            claims.exp.saturating_add(DEFAULT_LEEWAY_SECS),
        )
        .await?;
    shared::metrics::count(shared::metrics::Metric::TokensRevoked);
    let origin = audit::origin(state, source);
    let event =
        AuditEvent::access_token_revoked(&origin, &client.client_id, &claims.sub, &claims.jti);
    audit::record(state, event).await;
    Ok(())
}
