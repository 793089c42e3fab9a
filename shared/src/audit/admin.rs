//! The events of the operator's admin command line (`serverless-mcp admin`); each also says
//! `source=cli` and names the operator when known (see [`Origin::cli`]).

use serde_json::json;

use super::{AuditEvent, AuditKind, Origin, key};

impl AuditEvent {
    /// `admin.table.created` for the store the operator named.
    pub fn admin_table_created(origin: &Origin, store: &str) -> Self {
        Self::new(origin, AuditKind::AdminTableCreated, None, None).with(key::STORE, store)
    }

    /// `admin.user.added` with the user's groups.
    pub fn admin_user_added(origin: &Origin, sub: &str, groups: &[String]) -> Self {
        Self::new(origin, AuditKind::AdminUserAdded, None, Some(sub))
            .with(key::GROUPS, json!(groups))
    }

    /// `admin.user.disabled`, with the number of grants revoked.
    pub fn admin_user_disabled(origin: &Origin, sub: &str, grants_revoked: usize) -> Self {
        Self::new(origin, AuditKind::AdminUserDisabled, None, Some(sub))
            .with(key::GRANTS_REVOKED, grants_revoked)
    }

    /// `admin.client.added` with the client's name and redirect URIs.
    pub fn admin_client_added(origin: &Origin, client: &crate::store::ClientRecord) -> Self {
        Self::client(origin, AuditKind::AdminClientAdded, client)
    }

    /// `admin.user.enabled`.
    pub fn admin_user_enabled(origin: &Origin, sub: &str) -> Self {
        Self::new(origin, AuditKind::AdminUserEnabled, None, Some(sub))
    }

    /// `admin.client.enabled`.
    pub fn admin_client_enabled(origin: &Origin, client_id: &str) -> Self {
        Self::new(origin, AuditKind::AdminClientEnabled, Some(client_id), None)
    }

    /// `admin.client.disabled` (`deleted` false) or `admin.client.deleted`: the number of grants
    /// revoked and the operator's reason, if given.
    pub fn admin_client_cut_off(
        origin: &Origin,
        client_id: &str,
        deleted: bool,
        grants_revoked: usize,
        reason: Option<&str>,
    ) -> Self {
        let kind = if deleted {
            AuditKind::AdminClientDeleted
        } else {
            AuditKind::AdminClientDisabled
        };
        let event = Self::new(origin, kind, Some(client_id), None)
            .with(key::GRANTS_REVOKED, grants_revoked);
        match reason {
            Some(reason) => event.with(key::REASON, reason),
            None => event,
        }
    }

    /// `admin.grant.revoked`: one grant of the user and client.
    pub fn admin_grant_revoked(
        origin: &Origin,
        client_id: &str,
        sub: &str,
        grant_id: &str,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::AdminGrantRevoked,
            Some(client_id),
            Some(sub),
        )
        .with(key::GRANT_ID, grant_id)
    }

    /// `admin.grants.revoked`: every grant of a client or a user, and how many there were.
    pub fn admin_grants_revoked(
        origin: &Origin,
        client_id: Option<&str>,
        sub: Option<&str>,
        grants_revoked: usize,
    ) -> Self {
        Self::new(origin, AuditKind::AdminGrantsRevoked, client_id, sub)
            .with(key::GRANTS_REVOKED, grants_revoked)
    }

    /// `admin.key.rotated`: the new and the previous key id.
    pub fn admin_key_rotated(origin: &Origin, kid: &str, previous_kid: &str) -> Self {
        Self::new(origin, AuditKind::AdminKeyRotated, None, None)
            .with(key::KID, kid)
            .with(key::PREVIOUS_KID, previous_kid)
    }

    /// `admin.user.deleted`, with the number of grants and consents revoked.
    pub fn admin_user_deleted(
        origin: &Origin,
        sub: &str,
        grants_revoked: usize,
        consents_revoked: usize,
    ) -> Self {
        Self::new(origin, AuditKind::AdminUserDeleted, None, Some(sub))
            .with(key::GRANTS_REVOKED, grants_revoked)
            .with(key::CONSENTS_REVOKED, consents_revoked)
    }

    /// `admin.user.password_changed` (never the password or its hash).
    pub fn admin_user_password_changed(origin: &Origin, sub: &str) -> Self {
        Self::new(origin, AuditKind::AdminUserPasswordChanged, None, Some(sub))
    }

    /// `admin.user.groups_changed`: the groups before and after.
    pub fn admin_user_groups_changed(
        origin: &Origin,
        sub: &str,
        previous: &[String],
        groups: &[String],
    ) -> Self {
        Self::new(origin, AuditKind::AdminUserGroupsChanged, None, Some(sub))
            .with(key::PREVIOUS_GROUPS, json!(previous))
            .with(key::GROUPS, json!(groups))
    }

    /// `admin.consents.revoked`: consents of the user withdrawn (of one client, or all of them
    /// when `client_id` is `None`), and how many there were.
    pub fn admin_consents_revoked(
        origin: &Origin,
        sub: &str,
        client_id: Option<&str>,
        consents_revoked: usize,
    ) -> Self {
        Self::new(
            origin,
            AuditKind::AdminConsentsRevoked,
            client_id,
            Some(sub),
        )
        .with(key::CONSENTS_REVOKED, consents_revoked)
    }
}
