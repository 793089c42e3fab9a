//! The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OAuth 2.1 §4.1.3): the code
//! is redeemed exactly once; it must be valid, issued to this client for this redirect URI, and
//! the verifier must match. A replayed code revokes the grant its first redemption created
//! (RFC 6749 §4.1.2), found because the grant id derives from the code hash.

use serde::Serialize;
use shared::oauth::pkce::CodeVerifier;
use shared::secret::{Secret, sha256_hex};
use shared::store::{ClientRecord, CodeRecord, GrantRecord, GrantStatus, Redemption};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::audit::{self, Source};

/// The successful token response (RFC 6749 §5.1).
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// What was granted (always present, RFC 6749 §5.1 allows it and DESIGN requires it).
    pub scope: String,
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

/// A refresh token: `<grant id>.<256-bit secret>`; the grant stores the hash of the whole.
pub fn new_refresh_token(grant_id: &str) -> Secret {
    Secret::new(format!("{grant_id}.{}", Secret::generate().expose()))
}

/// The grant id a refresh token names, if it is well-formed.
pub fn grant_id_of(refresh_token: &Secret) -> Option<&str> {
    let (id, secret) = refresh_token.expose().split_once('.')?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && secret.len() == 43)
        .then_some(id)
}

fn allows_refresh(client: &ClientRecord) -> bool {
    client.metadata.grant_types.is_empty()
        || client
            .metadata
            .grant_types
            .iter()
            .any(|g| g == "refresh_token")
}

pub async fn exchange(
    state: &AppState,
    client: &ClientRecord,
    code: &Secret,
    redirect_uri: &str,
    verifier: &CodeVerifier,
    resource: Option<&str>,
    source: &Source,
) -> Result<TokenResponse, OAuthError> {
    let code_hash = code.hash();
    let record = match state.stores.codes.redeem(&code_hash).await? {
        None => return Err(OAuthError::invalid_grant("the code is invalid")),
        Some(Redemption::Replayed(record)) => {
            let grant_id = grant_id_for(&code_hash);
            let revoked = state.stores.grants.revoke(&grant_id).await?;
            tracing::warn!(revoked, "authorization code replayed");
            audit::record(
                state,
                "code.replayed",
                Some(&record.client_id),
                Some(&record.sub),
                source,
                &[("grant_revoked", if revoked { "true" } else { "false" })],
            )
            .await;
            return Err(OAuthError::invalid_grant("the code was already used"));
        }
        Some(Redemption::First(record)) => record,
    };
    check(state, client, &record, redirect_uri, verifier, resource)?;

    let scope = record.scope.clone();
    let (access_token, claims) = state
        .tokens
        .mint(
            &record.sub,
            &client.client_id,
            &scope,
            &record.groups,
            state.now(),
        )
        .await?;
    let grant_id = allows_refresh(client).then(|| grant_id_for(&code_hash));
    let refresh_token = if let Some(grant_id) = grant_id.clone() {
        let token = new_refresh_token(&grant_id);
        let now = state.now();
        let grant = GrantRecord {
            grant_id,
            sub: record.sub.clone(),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            resource: record.resource.clone(),
            groups: record.groups.clone(),
            refresh_hash: token.hash(),
            previous_refresh_hash: None,
            rotated_at: None,
            version: 0,
            status: GrantStatus::Active,
            created_at: now,
            expires_at: Some(now + state.config.refresh_token_ttl),
        };
        if !state.stores.grants.create(&grant).await? {
            tracing::error!("a grant derived from a first redemption already existed");
            return Err(OAuthError::ServerError);
        }
        Some(token)
    } else {
        None
    };
    crate::flows::clients::touch(state, client).await.ok();
    audit::record(
        state,
        "token.issued",
        Some(&client.client_id),
        Some(&record.sub),
        source,
        &[
            ("grant_type", "authorization_code"),
            ("scope", &scope),
            ("jti", &claims.jti),
            ("grant_id", grant_id.as_deref().unwrap_or("")),
        ],
    )
    .await;
    Ok(TokenResponse {
        access_token: access_token.expose().to_owned(),
        token_type: "Bearer",
        expires_in: claims.exp - claims.iat,
        scope,
        refresh_token: refresh_token.map(|t| t.expose().to_owned()),
    })
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
    if record.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !verifier.matches(&record.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    if resource.is_some_and(|r| r != record.resource) {
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
