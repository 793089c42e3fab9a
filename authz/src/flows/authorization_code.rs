//! The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OAuth 2.1 §4.1.3): the code
//! is redeemed exactly once; it must be valid, issued to this client for this redirect URI, and
//! the verifier must match. A replayed code revokes the grant its first redemption created
//! (RFC 6749 §4.1.2), found because the grant id derives from the code hash.

use serde::Serialize;
use shared::audit::AuditEvent;
use shared::oauth::client_values::GrantType;
use shared::oauth::pkce::CodeVerifier;
use shared::oauth::scope::Scope;
use shared::secret::{Secret, sha256_hex};
use shared::store::{ClientRecord, CodeRecord, GrantRecord, GrantStatus, StoreError};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit;
use crate::flows::caller::Caller;

/// The successful token response (RFC 6749 §5.1).
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// What was granted (always present, RFC 6749 §5.1 allows it; clients need not guess).
    pub scope: Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The grant id a code's first redemption creates: derived from the code hash, so a replay
/// finds it without any other lookup.
pub fn grant_id_for(code_hash: &str) -> String {
    sha256_hex(format!("grant\0{code_hash}").as_bytes())
        .chars()
        .take(32)
        .collect()
}

/// The refresh token format lives with the other OAuth formats in `shared`.
pub use shared::oauth::refresh_token::{grant_id_of, mint as new_refresh_token};

fn allows_refresh(client: &ClientRecord) -> bool {
    client.metadata.grant_types.is_empty()
        || client
            .metadata
            .grant_types
            .contains(&GrantType::RefreshToken)
}

/// The stored record of `code` and whether it was redeemed (the exchange's first read, which
/// [`crate::flows::token_request::handle`] makes beside client authentication).
pub async fn peek(
    state: &AppState,
    code: &Secret,
) -> Result<Option<(CodeRecord, bool)>, StoreError> {
    state.stores.codes.peek(code.hash().as_str()).await
}

/// Exchanges a code, given what [`peek`] read of it. The code is checked and a token minted;
/// then one atomic store step marks the code redeemed, creates the grant and records
/// `token.issued`, so a failure at any point leaves the code redeemable and nothing
/// half-written, and of concurrent redemptions exactly one succeeds (the others are replays).
#[allow(clippy::too_many_arguments)]
pub async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    peeked: Result<Option<(CodeRecord, bool)>, StoreError>,
    code: &Secret,
    redirect_uri: &str,
    verifier: &CodeVerifier,
    resource: Option<&str>,
    source: &Caller,
) -> Result<TokenResponse, OAuthError> {
    let stored_hash = code.hash();
    let code_hash = stored_hash.as_str();
    let record = match peeked? {
        None => return Err(OAuthError::invalid_grant("the code is invalid")),
        Some((record, true)) => return Err(replayed(state, code_hash, &record, source).await),
        Some((record, false)) => record,
    };
    if let Err(error) = check(state, client, &record, redirect_uri, verifier, resource) {
        // Any presentation uses the code up, a failed one too (RFC 6749 §4.1.2: single use).
        state.stores.codes.redeem(code_hash).await?;
        return Err(error);
    }

    let scope = record.scope.clone();
    // The token names its grant (stored only when the client may refresh), so that a replay of
    // the code, which revokes that grant, reaches it too.
    let grant_id = grant_id_for(code_hash);
    let (access_token, claims) = state
        .tokens
        .mint_in_grant(
            &grant_id,
            &record.sub,
            client.client_id.as_str(),
            &scope.to_scope_string(),
            &record.groups,
            state.now(),
        )
        .await?;
    let now = state.now();
    let (grant, refresh_token) = if allows_refresh(client) {
        let token = new_refresh_token(&grant_id);
        let grant = GrantRecord {
            grant_id: grant_id.clone(),
            sub: record.sub.clone(),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            resource: record.resource.clone(),
            groups: record.groups.clone(),
            refresh_hash: token.hash(),
            previous_refresh_hash: None,
            superseded_hashes: vec![],
            rotated_at: None,
            version: 0,
            status: GrantStatus::Active,
            created_at: now,
            expires_at: Some(now + state.config.refresh_token_ttl),
            upstream_session: record.upstream_session.clone(),
        };
        (Some(grant), Some(token))
    } else {
        (None, None)
    };
    let event = AuditEvent::token_issued(
        &audit::origin(state, source),
        &client.client_id,
        &record.sub,
        &grant_id,
        &claims.jti,
        &scope,
    );
    // The client's last use is written beside the redemption (a separate item; a failure of
    // either leaves the other harmless).
    let (redeemed, _) = tokio::join!(
        state
            .stores
            .codes
            .redeem_into_grant(&record, grant.as_ref(), &event),
        crate::flows::clients::touch(state, client)
    );
    if !redeemed? {
        // Another request redeemed it between the read and now.
        return Err(replayed(state, code_hash, &record, source).await);
    }
    shared::metrics::count(shared::metrics::Metric::TokensIssued);
    Ok(TokenResponse {
        access_token: access_token.expose().to_owned(),
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope,
        refresh_token: refresh_token.map(|t| t.expose().to_owned()),
    })
}

/// A code presented again: the grant its first redemption created is revoked (RFC 6749
/// §4.1.2), and the answer is `invalid_grant`.
async fn replayed(
    state: &AppState,
    code_hash: &str,
    record: &CodeRecord,
    source: &Caller,
) -> OAuthError {
    let revoked = match state.stores.grants.revoke(&grant_id_for(code_hash)).await {
        Ok(revoked) => revoked,
        Err(error) => return error.into(),
    };
    tracing::warn!(revoked, "authorization code replayed");
    let origin = audit::origin(state, source);
    let event = AuditEvent::code_replayed(&origin, &record.client_id, &record.sub, revoked);
    audit::record(state, event).await;
    OAuthError::invalid_grant("the code was already used")
}

fn check(
    state: &AppState,
    client: &ClientRecord,
    record: &CodeRecord,
    redirect_uri: &str,
    verifier: &CodeVerifier,
    resource: Option<&str>,
) -> Result<(), OAuthError> {
    if record.valid_until <= state.now() {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if record.redirect_uri.as_str() != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !verifier.matches(&record.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    if resource.is_some_and(|r| r != record.resource.as_str()) {
        return Err(OAuthError::InvalidTarget(
            "resource differs from the authorization request".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_name_their_grant() {
        let id = grant_id_for("abc");
        assert_eq!(id.len(), 32);
        assert_eq!(grant_id_for("abc"), id, "deterministic");
        let token = new_refresh_token(&id);
        assert_eq!(grant_id_of(&token), Some(id.as_str()));
        assert_eq!(grant_id_of(&Secret::new("nodot")), None);
        assert_eq!(grant_id_of(&Secret::new("short.x")), None);
    }
}
