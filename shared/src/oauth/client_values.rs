//! The closed sets of client metadata values this server supports (RFC 7591 §2):
//! `token_endpoint_auth_method` ([`AuthMethod`]) and `grant_types` ([`GrantType`]). Each
//! serialises as its RFC string, exactly as the bare strings stored before them.

use serde::{Deserialize, Serialize};

/// How a client authenticates at the token endpoint (RFC 7591 §2, RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: no secret.
    None,
    /// The secret in HTTP Basic; RFC 7591 §2's default when none is registered.
    #[default]
    ClientSecretBasic,
    /// The secret as the `client_secret` form field.
    ClientSecretPost,
}

impl AuthMethod {
    /// Every supported method, in the order the server metadata lists them.
    pub const ALL: [Self; 3] = [Self::None, Self::ClientSecretBasic, Self::ClientSecretPost];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    /// The method named `value`, if this server supports it.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }

    /// Whether the client holds a secret (every method but `none`).
    pub fn is_confidential(self) -> bool {
        self != Self::None
    }
}

/// A grant type a client may register (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
}

impl GrantType {
    /// Every supported grant type, in the order the server metadata lists them.
    pub const ALL: [Self; 2] = [Self::AuthorizationCode, Self::RefreshToken];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
        }
    }

    /// The grant type named `value`, if this server supports it.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        Self::parse(value).ok_or(())
    }
}

impl std::str::FromStr for GrantType {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        Self::parse(value).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialised_as_the_rfc_strings() {
        for method in AuthMethod::ALL {
            let json = serde_json::to_value(method).unwrap();
            assert_eq!(json, serde_json::json!(method.as_str()));
            assert_eq!(serde_json::from_value::<AuthMethod>(json).unwrap(), method);
        }
        for grant in GrantType::ALL {
            let json = serde_json::to_value(grant).unwrap();
            assert_eq!(json, serde_json::json!(grant.as_str()));
            assert_eq!(serde_json::from_value::<GrantType>(json).unwrap(), grant);
        }
        assert_eq!(
            AuthMethod::ALL.map(AuthMethod::as_str),
            ["none", "client_secret_basic", "client_secret_post"]
        );
        assert_eq!(
            GrantType::ALL.map(GrantType::as_str),
            ["authorization_code", "refresh_token"]
        );
    }

    #[test]
    fn unknown_values_are_refused() {
        assert_eq!(AuthMethod::parse("private_key_jwt"), None);
        assert_eq!(GrantType::parse("implicit"), None);
        assert!(serde_json::from_str::<AuthMethod>("\"\"").is_err());
        assert!(serde_json::from_str::<GrantType>("\"password\"").is_err());
    }
}
