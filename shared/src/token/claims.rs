//! The claims of an access token: the JWT profile of RFC 9068 §2.2, plus `groups` (the upstream
//! user's groups, which the resource server scopes cost data by).

use serde::{Deserialize, Serialize};

/// The payload of an RFC 9068 access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The authorization server's issuer identifier.
    pub iss: String,
    /// The upstream user id.
    pub sub: String,
    /// The resource (RFC 8707) the token is for. A verified token whose `aud` is an array holds
    /// here the one resource that it was verified for.
    pub aud: String,
    pub client_id: String,
    /// Granted scopes, space-separated (RFC 6749 §3.3).
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    /// The grant (authorization) the token was issued from, so that revoking the grant reaches
    /// its access tokens. A private claim (RFC 7519 §4.3); the first part of the grant's refresh
    /// token names it too, so it discloses nothing new to the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

impl AccessClaims {
    /// The granted scope values, in token order.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_ascii_whitespace()
    }

    /// Whether `scope` is among the granted values (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str) -> AccessClaims {
        AccessClaims {
            iss: "https://as.example".into(),
            sub: "user".into(),
            aud: "https://mcp.example/mcp".into(),
            client_id: "client".into(),
            scope: scope.into(),
            iat: 1,
            exp: 2,
            nbf: None,
            jti: "j".into(),
            grant_id: None,
            groups: vec![],
        }
    }

    #[test]
    fn scopes_split_on_spaces() {
        let c = claims(" costs:read  costs:resources ");
        assert_eq!(
            c.scopes().collect::<Vec<_>>(),
            ["costs:read", "costs:resources"]
        );
        assert!(c.has_scope("costs:read"));
        assert!(!c.has_scope("costs"));
        assert_eq!(claims("").scopes().count(), 0);
    }

    #[test]
    fn serializes_without_absent_nbf() {
        let json = serde_json::to_value(claims("costs:read")).unwrap();
        assert!(json.get("nbf").is_none());
        assert_eq!(json["groups"], serde_json::json!([]));
    }
}
