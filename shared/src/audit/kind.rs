//! What an audit event records: one variant per kind of event the services and the admin CLI
//! write, each with the exact string stored in the event's `kind` attribute.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares [`AuditKind`] from one table, so a variant and its stored string are written once.
macro_rules! audit_kinds {
    ($($(#[doc = $doc:literal])* $variant:ident => $stored:literal,)*) => {
        /// The kind of an audit event. Stored as [`AuditKind::as_str`]; a stored string this
        /// version does not know (older or newer code wrote it) reads as [`AuditKind::Other`],
        /// so such rows still list and keep their string when written back.
        #[derive(Debug, Clone, Eq)]
        pub enum AuditKind {
            $($(#[doc = $doc])* $variant,)*
            /// A kind this version does not write, kept as stored.
            Other(String),
        }

        impl AuditKind {
            /// Every kind this version writes.
            pub const KNOWN: &'static [AuditKind] = &[$(AuditKind::$variant,)*];

            /// The string stored for this kind.
            pub fn as_str(&self) -> &str {
                match self {
                    $(AuditKind::$variant => $stored,)*
                    AuditKind::Other(stored) => stored,
                }
            }

            /// The kind a stored string names; any other string is kept as [`AuditKind::Other`].
            pub fn parse(stored: &str) -> Self {
                match stored {
                    $($stored => AuditKind::$variant,)*
                    other => AuditKind::Other(other.to_owned()),
                }
            }
        }
    };
}

audit_kinds! {
    /// A client registered itself (RFC 7591).
    ClientRegistered => "client.registered",
    /// A client replaced its metadata (RFC 7592 §2.2).
    ClientUpdated => "client.updated",
    /// A client deleted its registration (RFC 7592 §2.3).
    ClientDeleted => "client.deleted",
    /// The user approved a client on the consent page.
    ConsentGiven => "consent.given",
    /// The user refused a client on the consent page.
    ConsentDenied => "consent.denied",
    /// An approved sign-in was continued in another browser and refused.
    AuthorizationOtherBrowser => "authorization.other_browser",
    /// The user logged in upstream.
    Login => "login",
    /// A login failed (upstream error, unverifiable answer, wrong password).
    LoginFailed => "login.failed",
    /// An authorization code was issued.
    CodeIssued => "code.issued",
    /// A redeemed authorization code was presented again.
    CodeReplayed => "code.replayed",
    /// A code was exchanged for tokens.
    TokenIssued => "token.issued",
    /// A refresh token was exchanged for new tokens.
    TokenRefreshed => "token.refreshed",
    /// The refresh token just replaced was presented within the grace period.
    RefreshGrace => "refresh.grace",
    /// A replaced refresh token was presented again: its grant is revoked.
    RefreshReuseDetected => "refresh.reuse_detected",
    /// A grant was revoked by the client or because its user is gone upstream.
    GrantRevoked => "grant.revoked",
    /// A client revoked an access token (RFC 7009).
    AccessTokenRevoked => "access_token.revoked",
    /// A resource server introspected a token (RFC 7662): whether it was active.
    TokenIntrospected => "token.introspected",
    /// The operator created the table (or found it ready).
    AdminTableCreated => "admin.table.created",
    /// The operator added an embedded-login user.
    AdminUserAdded => "admin.user.added",
    /// The operator disabled a user, revoking their grants and access tokens.
    AdminUserDisabled => "admin.user.disabled",
    /// The operator enabled a user again.
    AdminUserEnabled => "admin.user.enabled",
    /// The operator disabled a client, revoking its grants and access tokens.
    AdminClientDisabled => "admin.client.disabled",
    /// The operator enabled a client again.
    AdminClientEnabled => "admin.client.enabled",
    /// The operator deleted a client, revoking its grants and access tokens.
    AdminClientDeleted => "admin.client.deleted",
    /// The operator revoked one grant.
    AdminGrantRevoked => "admin.grant.revoked",
    /// The operator revoked every grant of a user or a client.
    AdminGrantsRevoked => "admin.grants.revoked",
    /// The operator rotated the local signing key.
    AdminKeyRotated => "admin.key.rotated",
    /// The operator deleted a user, revoking their grants, consents and access tokens.
    AdminUserDeleted => "admin.user.deleted",
    /// The operator set a user's password.
    AdminUserPasswordChanged => "admin.user.password_changed",
    /// The operator set a user's groups.
    AdminUserGroupsChanged => "admin.user.groups_changed",
    /// The operator withdrew remembered consents of a user.
    AdminConsentsRevoked => "admin.consents.revoked",
    /// The operator added a client (a pre-registered, static client).
    AdminClientAdded => "admin.client.added",
}

impl PartialEq for AuditKind {
    /// Kinds are equal when they are stored alike (an [`AuditKind::Other`] holding a known
    /// string equals that kind).
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Hash for AuditKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for AuditKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for AuditKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for AuditKind {
    fn from(stored: &str) -> Self {
        AuditKind::parse(stored)
    }
}

impl From<String> for AuditKind {
    fn from(stored: String) -> Self {
        AuditKind::parse(&stored)
    }
}

impl Serialize for AuditKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuditKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(AuditKind::from)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::AuditKind::{self, *};

    /// The stored string of every kind, written out: renaming a variant or editing its string
    /// fails here, because the string is the stored format old rows and other readers rely on.
    const STORED: &[(AuditKind, &str)] = &[
        (ClientRegistered, "client.registered"),
        (ClientUpdated, "client.updated"),
        (ClientDeleted, "client.deleted"),
        (ConsentGiven, "consent.given"),
        (ConsentDenied, "consent.denied"),
        (AuthorizationOtherBrowser, "authorization.other_browser"),
        (Login, "login"),
        (LoginFailed, "login.failed"),
        (CodeIssued, "code.issued"),
        (CodeReplayed, "code.replayed"),
        (TokenIssued, "token.issued"),
        (TokenRefreshed, "token.refreshed"),
        (RefreshGrace, "refresh.grace"),
        (RefreshReuseDetected, "refresh.reuse_detected"),
        (GrantRevoked, "grant.revoked"),
        (AccessTokenRevoked, "access_token.revoked"),
        (TokenIntrospected, "token.introspected"),
        (AdminTableCreated, "admin.table.created"),
        (AdminUserAdded, "admin.user.added"),
        (AdminUserDisabled, "admin.user.disabled"),
        (AdminUserEnabled, "admin.user.enabled"),
        (AdminClientDisabled, "admin.client.disabled"),
        (AdminClientEnabled, "admin.client.enabled"),
        (AdminClientDeleted, "admin.client.deleted"),
        (AdminGrantRevoked, "admin.grant.revoked"),
        (AdminGrantsRevoked, "admin.grants.revoked"),
        (AdminKeyRotated, "admin.key.rotated"),
        (AdminUserDeleted, "admin.user.deleted"),
        (AdminUserPasswordChanged, "admin.user.password_changed"),
        (AdminUserGroupsChanged, "admin.user.groups_changed"),
        (AdminConsentsRevoked, "admin.consents.revoked"),
        (AdminClientAdded, "admin.client.added"),
    ];

    #[test]
    fn every_kind_keeps_its_stored_string() {
        assert_eq!(
            STORED.len(),
            AuditKind::KNOWN.len(),
            "a kind is missing from the table"
        );
        for (kind, stored) in STORED {
            assert!(!matches!(kind, Other(_)));
            assert_eq!(kind.as_str(), *stored);
            assert_eq!(AuditKind::parse(stored).as_str(), *stored);
            assert!(!matches!(AuditKind::parse(stored), Other(_)), "{stored}");
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(*stored)
            );
        }
        let distinct: HashSet<&str> = STORED.iter().map(|(_, s)| *s).collect();
        assert_eq!(distinct.len(), STORED.len(), "two kinds share a string");
        for kind in AuditKind::KNOWN {
            assert!(
                STORED.iter().any(|(k, _)| k == kind),
                "{kind} is not pinned"
            );
        }
    }

    #[test]
    fn an_unknown_stored_kind_round_trips() {
        for stored in ["admin.future.thing", "", "Login", "token.issued "] {
            let kind: AuditKind = serde_json::from_value(serde_json::json!(stored)).unwrap();
            assert_eq!(kind, Other(stored.to_owned()));
            assert_eq!(kind.as_str(), stored);
            assert_eq!(
                serde_json::to_value(&kind).unwrap(),
                serde_json::json!(stored)
            );
        }
        let known: AuditKind = serde_json::from_value(serde_json::json!("login")).unwrap();
        assert!(matches!(known, Login));
    }
}
