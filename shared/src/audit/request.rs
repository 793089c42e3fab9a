//! The events of the OAuth flows: registrations, consents, logins, codes, tokens and
//! revocations, each with exactly the details its kind has always been stored with.

use super::{AuditEvent, AuditKind, Origin, REVOKED_BY_CLIENT, USER_GONE_UPSTREAM, key};
use crate::oauth::client_id::ClientId;
use crate::oauth::scope::Scope;
use crate::store::ClientRecord;

impl AuditEvent {
    /// `client.registered`: the client's name, redirect URIs and authentication method.
    pub fn client_registered(origin: &Origin, client: &ClientRecord) -> Self {
        Self::client(origin, AuditKind::ClientRegistered, client)
    }

    /// `client.updated`: as registered, with the new metadata.
    pub fn client_updated(origin: &Origin, client: &ClientRecord) -> Self {
        Self::client(origin, AuditKind::ClientUpdated, client)
    }

    /// `client.deleted`: the metadata the client had.
    pub fn client_deleted(origin: &Origin, client: &ClientRecord) -> Self {
        Self::client(origin, AuditKind::ClientDeleted, client)
    }

    /// `consent.given` for `scope` (the user is not known before the login).
    pub fn consent_given(origin: &Origin, client_id: &ClientId, scope: &Scope) -> Self {
        Self::new(
            origin,
            AuditKind::ConsentGiven,
            Some(client_id.as_str()),
            None,
        )
        .with(key::SCOPE, scope.to_scope_string())
    }

    /// `consent.denied`.
    pub fn consent_denied(origin: &Origin, client_id: &ClientId) -> Self {
        Self::new(
            origin,
            AuditKind::ConsentDenied,
            Some(client_id.as_str()),
            None,
        )
    }

    /// `authorization.other_browser`, refused at `step`.
    pub fn authorization_other_browser(origin: &Origin, client_id: &ClientId, step: &str) -> Self {
        Self::new(
            origin,
            AuditKind::AuthorizationOtherBrowser,
            Some(client_id.as_str()),
            None,
        )
        .with(key::STEP, step)
    }

    /// `login`: the user signed in upstream.
    pub fn login(origin: &Origin, client_id: &ClientId, sub: &str) -> Self {
        Self::new(
            origin,
            AuditKind::Login,
            Some(client_id.as_str()),
            Some(sub),
        )
    }

    /// `login.failed` for `reason`.
    pub fn login_failed(origin: &Origin, client_id: &ClientId, reason: &str) -> Self {
        Self::new(
            origin,
            AuditKind::LoginFailed,
            Some(client_id.as_str()),
            None,
        )
        .with(key::REASON, reason)
    }

    /// `login.failed` because the upstream provider answered with `upstream_error`.
    pub fn login_failed_upstream(
        origin: &Origin,
        client_id: &ClientId,
        upstream_error: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::LoginFailed,
            Some(client_id.as_str()),
            None,
        )
        .with(key::UPSTREAM_ERROR, upstream_error)
    }

    /// `code.issued` for `scope`.
    pub fn code_issued(origin: &Origin, client_id: &ClientId, sub: &str, scope: &Scope) -> Self {
        Self::new(
            origin,
            AuditKind::CodeIssued,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::SCOPE, scope.to_scope_string())
    }

    /// `code.replayed`, saying whether the code's grant was revoked for it.
    pub fn code_replayed(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_revoked: bool,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::CodeReplayed,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(
            key::GRANT_REVOKED,
            if grant_revoked { "true" } else { "false" },
        )
    }

    /// `token.issued` by the authorization-code grant: the access token's `jti`, its scope and
    /// the grant it belongs to.
    pub fn token_issued(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
        jti: &str,
        scope: &Scope,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::TokenIssued,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_TYPE, "authorization_code")
        .with(key::SCOPE, scope.to_scope_string())
        .with(key::JTI, jti)
        .with(key::GRANT_ID, grant_id)
    }

    /// `token.refreshed`: the grant, the new access token's `jti` and scope.
    pub fn token_refreshed(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
        jti: &str,
        scope: &Scope,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::TokenRefreshed,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_ID, grant_id)
        .with(key::SCOPE, scope.to_scope_string())
        .with(key::JTI, jti)
    }

    /// `refresh.grace`: the grant's previous refresh token came back within the grace period.
    pub fn refresh_grace(origin: &Origin, client_id: &ClientId, sub: &str, grant_id: &str) -> Self {
        Self::new(
            origin,
            AuditKind::RefreshGrace,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_ID, grant_id)
    }

    /// `refresh.reuse_detected`: a replaced refresh token of the grant came back.
    pub fn refresh_reuse_detected(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::RefreshReuseDetected,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::GRANT_ID, grant_id)
    }

    /// `grant.revoked` by the client (RFC 7009, with its refresh token).
    pub fn grant_revoked_by_client(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        grant_id: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::GrantRevoked,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::REASON, REVOKED_BY_CLIENT)
        .with(key::GRANT_ID, grant_id)
    }

    /// `grant.revoked` at a refresh because the user is disabled or deleted upstream (stored
    /// without the grant id, as it always was).
    pub fn grant_revoked_user_gone(origin: &Origin, client_id: &ClientId, sub: &str) -> Self {
        Self::new(
            origin,
            AuditKind::GrantRevoked,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::REASON, USER_GONE_UPSTREAM)
    }

    /// `access_token.revoked` by the client (RFC 7009): the token's `jti`.
    pub fn access_token_revoked(
        origin: &Origin,
        client_id: &ClientId,
        sub: &str,
        jti: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::AccessTokenRevoked,
            Some(client_id.as_str()),
            Some(sub),
        )
        .with(key::JTI, jti)
    }

    /// `token.introspected` by a resource server (RFC 7662): whether the token was active and,
    /// when it was, whose it is and its `jti` (never the token).
    pub fn token_introspected(
        origin: &Origin,
        resource_server: &ClientId,
        active: Option<(&str, &str)>,
    ) -> Self {
        let event = Self::new(
            origin,
            AuditKind::TokenIntrospected,
            Some(resource_server.as_str()),
            active.map(|(sub, _)| sub),
        )
        .with(key::ACTIVE, active.is_some());
        match active {
            Some((_, jti)) => event.with(key::JTI, jti),
            None => event,
        }
    }
}
