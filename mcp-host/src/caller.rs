//! The verified caller of a request (RFC 9068 §2.2 claims), which the bearer layer puts into the
//! HTTP request's extensions for the server's tools.

use http::request::Parts;
use rmcp::ErrorData;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use shared::token::AccessClaims;

/// The authenticated user of one MCP request: a tool parameter (`caller: Caller`), and in the
/// extensions of the HTTP request parts rmcp hands to handlers
/// (`parts.extensions.get::<Caller>()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user (`sub`).
    pub sub: String,
    /// The OAuth client the token was issued to (`client_id`).
    pub client_id: String,
    /// The granted scopes (`scope`, split).
    pub scopes: Vec<String>,
    /// The user's upstream groups (`groups`).
    pub groups: Vec<String>,
}

impl Caller {
    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl From<AccessClaims> for Caller {
    fn from(claims: AccessClaims) -> Self {
        Self {
            scopes: claims.scopes().map(str::to_owned).collect(),
            sub: claims.sub,
            client_id: claims.client_id,
            groups: claims.groups,
        }
    }
}

/// A tool (or prompt) parameter: `caller: Caller` gives the verified caller of the call. The
/// bearer layer lets no request through without one; a handler reached some other way gets a
/// JSON-RPC `invalid_request` error.
impl<C: AsRequestContext> FromContextPart<C> for Caller {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        bearer_extension(context)
    }
}

/// What the bearer layer put into the HTTP request's extensions (the [`Caller`], the
/// [`crate::Clearance`]), as rmcp hands them to handlers; `invalid_request` when it is missing.
pub(crate) fn bearer_extension<C: AsRequestContext, T: Clone + Send + Sync + 'static>(
    context: &mut C,
) -> Result<T, ErrorData> {
    context
        .as_request_context()
        .extensions
        .get::<Parts>()
        .and_then(|parts| parts.extensions.get::<T>())
        .cloned()
        .ok_or_else(|| ErrorData::invalid_request("the request is not authenticated", None))
}
