//! Fetching Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP
//! 2025-11-25), the outbound side: a client_id that is an https URL names a JSON document, and
//! fetching it is a server-side request to an address the client chose. The flows see only
//! [`DocumentSource`]; behind it, [`policy`] decides which URLs and addresses may be fetched and
//! [`fetch`] does the guarded HTTPS request. What a document must say, and how long it is
//! remembered, is `flows::client_id_metadata`.

pub mod fetch;
pub mod policy;
#[cfg(test)]
pub mod testing;

use std::time::Duration;

use async_trait::async_trait;

pub use fetch::{DocumentFetcher, test_ca_certificates};
pub use policy::{HostLookup, SystemLookup, is_public};

/// Largest accepted document.
pub const MAX_DOCUMENT: usize = 5 * 1024;
/// Longest accepted client_id URL.
pub const MAX_URL: usize = 2048;
/// Time allowed for the whole fetch.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A document as fetched, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedDocument {
    pub body: Vec<u8>,
    /// How long it may be cached, from its HTTP cache headers within bounds.
    pub cache_secs: u64,
}

/// Where the flows get metadata documents from.
#[async_trait]
pub trait DocumentSource: Send + Sync {
    /// The document at `client_id`: the URL and every address it resolves to have passed the
    /// fetch policy, and the body is within [`MAX_DOCUMENT`] and arrived within [`TIMEOUT`].
    async fn fetch(&self, client_id: &str) -> Result<FetchedDocument, DocumentError>;
}

/// Why a document was not accepted; every variant becomes `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the client_id URL is not a valid metadata document URL: {0}")]
    BadUrl(&'static str),
    #[error("the client_id URL points at an address that may not be fetched")]
    ForbiddenAddress,
    #[error("the metadata document could not be fetched")]
    Unreachable,
    #[error("the metadata document server answered with status {0}")]
    Status(u16),
    #[error("the metadata document exceeds {MAX_DOCUMENT} bytes")]
    TooLarge,
    #[error("the metadata document was not delivered within {} seconds", TIMEOUT.as_secs())]
    Timeout,
    #[error("the metadata document is invalid: {0}")]
    Invalid(String),
}

impl DocumentError {
    /// Whether the failure came from resolving or fetching (worth remembering), rather than from
    /// the URL alone, which is checked again at no cost.
    pub fn came_from_fetch(&self) -> bool {
        !matches!(self, Self::BadUrl(_))
    }
}
