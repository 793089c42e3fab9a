//! The resource indicator of RFC 8707: the protected resource a grant and its tokens are for.
//! Serialised as the bare string, as stored before this type.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

/// An absolute URI without a fragment (RFC 8707 §2), checked once ([`ResourceUri::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceUri(String);

/// A value RFC 8707 §2 does not allow as a resource indicator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource must be an absolute URI without a fragment")]
pub struct InvalidResource;

impl ResourceUri {
    /// Checks a resource indicator (a request parameter or the configured resource).
    pub fn parse(raw: &str) -> Result<Self, InvalidResource> {
        match Url::parse(raw) {
            Ok(url) if url.fragment().is_none() && !raw.contains('#') => Ok(Self(raw.to_owned())),
            _ => Err(InvalidResource),
        }
    }

    /// A value read back from the store, where only checked indicators are written.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ResourceUri {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ResourceUri {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl AsRef<str> for ResourceUri {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_without_fragment_and_stored_as_the_string() {
        for bad in [
            "",
            "/mcp",
            "mcp.example.com/mcp",
            "https://mcp.example.com/mcp#x",
        ] {
            assert_eq!(ResourceUri::parse(bad), Err(InvalidResource), "{bad}");
        }
        let resource = ResourceUri::parse("https://mcp.example.com/mcp").unwrap();
        assert_eq!(
            serde_json::to_value(&resource).unwrap(),
            serde_json::json!("https://mcp.example.com/mcp")
        );
        let read: ResourceUri = serde_json::from_str("\"https://mcp.example.com/mcp\"").unwrap();
        assert_eq!(read, resource);
        assert_eq!(resource.to_string(), resource.as_str());
    }
}
