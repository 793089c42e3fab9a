//! Token revocation (RFC 7009): a refresh token revokes its whole grant, access tokens issued from
//! it included (§2.1); an access token is revoked by `jti` until it would stop verifying (its
//! expiry plus the verifier's leeway), where the resource server looks. Unknown,
//! invalid or foreign tokens are answered like successes (RFC 7009 §2.2).

use serde::Deserialize;
use shared::audit::AuditEvent;
use shared::secret::Secret;
use shared::store::{ClientRecord, GrantStatus, Revoked};
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
/// `token_type_hint` is read and not needed: the token's form tells which kind it is.
pub async fn handle(
    state: &AppState,
    credentials: &ClientCredentials,
    params: RevocationParams,
    caller: &Caller,
) -> Result<(), OAuthError> {
    let _hint = params.token_type_hint;
    let client = client_auth::authenticate(state, credentials).await?;
    revoke(state, &client, params.token, caller).await
}

pub async fn revoke(
    state: &AppState,
    client: &ClientRecord,
    token: Option<String>,
    source: &Caller,
) -> Result<(), OAuthError> {
    let token = Secret::new(
        token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?,
    );
    if let Some(grant_id) = grant_id_of(&token) {
        let Some(grant) = state.stores.grants.get(grant_id).await? else {
            return Ok(());
        };
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
