//! The caller of a tool call as a tool parameter: the verified caller the bearer layer attached
//! to the HTTP request, and the linked accounts their groups may see ([`crate::access`]), found
//! once by rmcp's extractor mechanism instead of in every tool body.

use http::request::Parts;
use rmcp::ErrorData;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use rmcp::handler::server::tool::ToolCallContext;

use super::CostServer;
use mcp_host::Clearance;

use crate::access::{Caller, Visibility};

/// The caller of one tool call and what they may see.
pub(crate) struct Access {
    pub(crate) caller: Caller,
    pub(crate) visibility: Visibility,
    /// The request's revocation verdict: awaited before a call that reaches the source.
    pub(crate) clearance: Clearance,
}

impl Access {
    /// A tool error unless the caller's token carries `needed`.
    pub(crate) fn require_scope(&self, needed: &str) -> Result<(), String> {
        if self.caller.has_scope(needed) {
            Ok(())
        } else {
            Err(format!(
                "this tool needs the {needed} scope, which your token lacks"
            ))
        }
    }
}

/// A tool parameter: the call's [`Access`], or the tool error a call without a verified caller
/// gets (the bearer layer lets none through, so it is a guard, not a path). The tool body opens
/// with `let access = caller.access()?;`.
pub(crate) struct Authenticated(Result<Access, String>);

impl Authenticated {
    pub(crate) fn access(self) -> Result<Access, String> {
        self.0
    }
}

impl FromContextPart<ToolCallContext<'_, CostServer>> for Authenticated {
    /// A JSON-RPC error only when the HTTP request parts are missing (rmcp's transport always
    /// attaches them), as rmcp's own `Extension<Parts>` extractor answers.
    fn from_context_part(context: &mut ToolCallContext<'_, CostServer>) -> Result<Self, ErrorData> {
        let parts = context
            .as_request_context()
            .extensions
            .get::<Parts>()
            .ok_or_else(|| {
                ErrorData::invalid_params(
                    format!("missing extension {}", std::any::type_name::<Parts>()),
                    None,
                )
            })?;
        let extensions = &parts.extensions;
        let access = match (extensions.get::<Caller>(), extensions.get::<Clearance>()) {
            (Some(caller), Some(clearance)) => Ok(Access {
                visibility: context.service.ctx.scopes.visibility(&caller.groups),
                caller: caller.clone(),
                clearance: clearance.clone(),
            }),
            _ => Err("the request is not authenticated".to_owned()),
        };
        Ok(Self(access))
    }
}
