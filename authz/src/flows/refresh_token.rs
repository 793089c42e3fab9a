//! The `refresh_token` grant (RFC 6749 §6, OAuth 2.1 §4.3, RFC 9700 §4.14.2): rotation on every
//! use by compare-and-set on the grant; the token just replaced answers an error without
//! revoking during a short grace window (a client that retried); a token the grant really had
//! and replaced revokes the whole grant with its access tokens (reuse detection), while a secret
//! it never had revokes nothing (no denial of service by guessing with a known grant id). The
//! upstream user is checked at every refresh.

use shared::audit::AuditEvent;
use shared::secret::Secret;
use shared::store::{ClientRecord, GrantRecord, GrantStatus, Revoked, StoreError};
use shared::token::REVOCATION_HORIZON_SECS;

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::authorization_code::{TokenResponse, grant_id_of, new_refresh_token};
use crate::flows::caller::Caller;
use crate::upstream::{UpstreamError, UserStatus};

/// The grant `refresh_token` names, if it names one (the refresh's first read, which
/// [`crate::flows::token_request::handle`] makes beside client authentication).
pub async fn lookup(
    state: &AppState,
    refresh_token: &Secret,
) -> Result<Option<GrantRecord>, StoreError> {
    match grant_id_of(refresh_token) {
        Some(grant_id) => state.stores.grants.get(grant_id).await,
        None => Ok(None),
    }
}

/// Refreshes, given what [`lookup`] read of the token's grant.
pub async fn refresh(
    state: &AppState,
    client: &ClientRecord,
    looked_up: Result<Option<GrantRecord>, StoreError>,
    refresh_token: &Secret,
    scope: Option<&str>,
    resource: Option<&str>,
    source: &Caller,
) -> Result<TokenResponse, OAuthError> {
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid");
    let grant = looked_up?.ok_or_else(invalid)?;
    if grant.status != GrantStatus::Active || grant.client_id != client.client_id {
        return Err(invalid());
    }
    if !refresh_token.matches(&grant.refresh_hash) {
        return Err(not_current(state, client, &grant, refresh_token, source).await);
    }
    if resource.is_some_and(|r| r != grant.resource.as_str()) {
        return Err(OAuthError::InvalidTarget(
            "resource differs from the original grant".into(),
        ));
    }
    let issued_scope = match scope {
        Some(requested) => grant.scope.narrow(requested).ok_or_else(|| {
            OAuthError::InvalidScope("the requested scope exceeds the original grant".into())
        })?,
        None => grant.scope.clone(),
    };
    // A scope taken out of the settings since the grant is no longer issued.
    let issued_scope = state
        .config
        .scopes
        .still_offered(&issued_scope)
        .ok_or_else(|| {
            OAuthError::invalid_grant("none of the granted scopes is offered any more")
        })?;

    let groups = match state.directory.status(&grant).await {
        Ok(UserStatus::Active { groups }) => groups,
        Ok(UserStatus::Gone) => {
            // The grant with its access tokens, and the user's other access tokens too.
            state.stores.grants.revoke(&grant.grant_id).await?;
            state
                .stores
                .revocations
                .revoke(
                    Revoked::User(&grant.sub),
                    state.now().saturating_add(REVOCATION_HORIZON_SECS),
                )
                .await?;
            let origin = audit::origin(state, source);
            let event = AuditEvent::grant_revoked_user_gone(&origin, &client.client_id, &grant.sub);
            audit::record(state, event).await;
            return Err(OAuthError::invalid_grant("the user is no longer active"));
        }
        Err(UpstreamError::Rejected(why)) => {
            tracing::error!(why, "user directory refused the lookup");
            return Err(OAuthError::TemporarilyUnavailable);
        }
        Err(UpstreamError::Unavailable(why)) => {
            tracing::error!(error = %why, "user directory unavailable");
            return Err(OAuthError::TemporarilyUnavailable);
        }
    };

    let (access_token, claims) = state
        .tokens
        .mint_in_grant(
            &grant.grant_id,
            &grant.sub,
            client.client_id.as_str(),
            &issued_scope.to_scope_string(),
            &groups,
            state.now(),
        )
        .await?;
    let next = new_refresh_token(&grant.grant_id);
    let rotated = state
        .stores
        .grants
        .rotate(&grant.grant_id, grant.version, &next.hash(), &groups)
        .await?;
    if rotated.is_none() {
        // Another request with the same token rotated first: like the grace case, no revocation.
        return Err(OAuthError::invalid_grant(
            "the refresh token was just replaced; use the newest one",
        ));
    }
    shared::metrics::count(shared::metrics::Metric::TokensRefreshed);
    let event = AuditEvent::token_refreshed(
        &audit::origin(state, source),
        &client.client_id,
        &grant.sub,
        &grant.grant_id,
        &claims.jti,
        &issued_scope,
    );
    // Two independent writes after the rotation: the client's last use and the event.
    let (_, ()) = tokio::join!(
        crate::flows::clients::touch(state, client),
        audit::record(state, event)
    );
    Ok(TokenResponse {
        access_token: access_token.expose().to_owned(),
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope: issued_scope,
        refresh_token: Some(next.expose().to_owned()),
    })
}

/// The answer to a refresh token that names the grant but is not its current token.
async fn not_current(
    state: &AppState,
    client: &ClientRecord,
    grant: &GrantRecord,
    refresh_token: &Secret,
    source: &Caller,
) -> OAuthError {
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid");
    let just_replaced = grant
        .previous_refresh_hash
        .as_ref()
        .is_some_and(|previous| refresh_token.matches(previous));
    let within_grace = grant
        .rotated_at
        .is_some_and(|at| state.now() - at <= state.config.refresh_grace_secs);
    if just_replaced && within_grace {
        let origin = audit::origin(state, source);
        let event =
            AuditEvent::refresh_grace(&origin, &client.client_id, &grant.sub, &grant.grant_id);
        audit::record(state, event).await;
        return OAuthError::invalid_grant(
            "the refresh token was just replaced; use the newest one",
        );
    }
    let superseded = just_replaced
        || grant
            .superseded_hashes
            .iter()
            .any(|hash| refresh_token.matches(hash));
    if !superseded {
        // Never one of this grant's tokens: a guess, or a token from another deployment.
        tracing::info!("refresh token with an unknown secret refused");
        return invalid();
    }
    let revoked = match state.stores.grants.revoke(&grant.grant_id).await {
        Ok(revoked) => revoked,
        Err(error) => return error.into(),
    };
    tracing::warn!(revoked, "refresh token reuse detected; grant revoked");
    shared::metrics::count(shared::metrics::Metric::RefreshTokenReuse);
    let origin = audit::origin(state, source);
    let event =
        AuditEvent::refresh_reuse_detected(&origin, &client.client_id, &grant.sub, &grant.grant_id);
    audit::record(state, event).await;
    invalid()
}
