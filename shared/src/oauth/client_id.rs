//! The `client_id` of a client (RFC 6749 §2.2): one this server issued (dynamic registration,
//! an operator) or the https URL of a Client ID Metadata Document. Serialised as the bare
//! string, as stored before this type.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A client identifier that was checked once ([`ClientId::parse`]) or issued by this server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

/// A `client_id` that no client can have: empty or longer than [`ClientId::MAX_LEN`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client_id must be 1 to {} bytes", ClientId::MAX_LEN)]
pub struct InvalidClientId;

impl ClientId {
    /// Longest accepted client_id, in bytes (a metadata document URL included).
    pub const MAX_LEN: usize = 2048;

    /// Checks a client_id as sent in a request.
    pub fn parse(raw: &str) -> Result<Self, InvalidClientId> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(InvalidClientId);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh identifier for a dynamically registered client.
    pub fn generate() -> Self {
        Self(crate::secret::random_id())
    }

    /// A value read back from the store (or named by the operator), taken as it is.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    /// Whether it names a Client ID Metadata Document (an https URL).
    pub fn is_document_url(&self) -> bool {
        self.0.starts_with("https://")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ClientId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ClientId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl AsRef<str> for ClientId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_bounds_the_length_and_serde_keeps_the_string() {
        assert_eq!(ClientId::parse(""), Err(InvalidClientId));
        assert_eq!(
            ClientId::parse(&"a".repeat(ClientId::MAX_LEN + 1)),
            Err(InvalidClientId)
        );
        let id = ClientId::parse("https://app.example.com/client.json").unwrap();
        assert!(id.is_document_url());
        assert!(!ClientId::generate().is_document_url());
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            serde_json::json!("https://app.example.com/client.json")
        );
        let read: ClientId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(read, ClientId::from_stored("abc"));
        assert_eq!(read.to_string(), "abc");
    }
}
