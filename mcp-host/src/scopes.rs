//! Which OAuth scopes a server's tools need (RFC 6749 §3.3), as the server declares them: one
//! scope every request needs, and extra scopes per tool. The one declaration drives the bearer
//! layer (a `tools/call` lacking a scope gets the 403 `insufficient_scope` challenge of RFC 6750
//! §3.1 before dispatch), the challenges' `scope`, and `scopes_supported` of the protected
//! resource metadata (RFC 9728 §2).
//!
//! The contract with the authorization server: every scope declared here must be one it offers
//! (its `SMCP_SCOPES`), or no token will ever carry it and the tool is unreachable.
//! [`ScopePolicy::check_offered`] checks it at start-up against the deployment's configuration
//! ([`crate::McpHost::run`] does; a server that builds its own router calls
//! [`crate::McpHost::check_scopes`]).

use std::collections::HashMap;

use shared::oauth::scope::ScopeCatalogue;

/// The scopes a server's tools need: built once at start-up, read on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePolicy {
    every_tool: String,
    per_tool: HashMap<String, Vec<String>>,
    supported: Vec<String>,
}

impl ScopePolicy {
    /// A policy where every request needs `every_tool` and no tool needs more.
    pub fn new(every_tool: impl Into<String>) -> Self {
        let every_tool = every_tool.into();
        Self {
            supported: vec![every_tool.clone()],
            every_tool,
            per_tool: HashMap::new(),
        }
    }

    /// Declares that calling the tool named `tool` (its MCP name) needs `scope` besides
    /// [`every_tool`](Self::every_tool); the scope is advertised as supported.
    pub fn tool_scope(mut self, tool: impl Into<String>, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        let extra = self.per_tool.entry(tool.into()).or_default();
        if scope != self.every_tool && !extra.contains(&scope) {
            extra.push(scope.clone());
        }
        self.supported_scope(scope)
    }

    /// Advertises `scope` in `scopes_supported` without tying it to a tool.
    pub fn supported_scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        if !self.supported.contains(&scope) {
            self.supported.push(scope);
        }
        self
    }

    /// The scope every request needs (named in the 401 challenge).
    pub fn every_tool(&self) -> &str {
        &self.every_tool
    }

    /// The scopes the tool named `tool` needs beyond [`every_tool`](Self::every_tool); none for
    /// any other name, unknown names included (the MCP service refuses those itself).
    pub fn extra_for(&self, tool: &str) -> &[String] {
        self.per_tool.get(tool).map_or(&[], Vec::as_slice)
    }

    /// Every scope declared, [`every_tool`](Self::every_tool) first, then in declaration order:
    /// the metadata's `scopes_supported`.
    pub fn supported(&self) -> &[String] {
        &self.supported
    }

    /// `Err` naming the declared scopes `offered` (the authorization server's `SMCP_SCOPES`)
    /// lacks: tokens could never carry them.
    pub fn check_offered(&self, offered: &ScopeCatalogue) -> Result<(), String> {
        let missing: Vec<&str> = self
            .supported
            .iter()
            .filter(|s| !offered.contains(s))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the server declares the scopes {} that the authorization server does not offer \
             (SMCP_SCOPES is {:?})",
            missing.join(" "),
            offered.values().join(" ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_tools_need_their_scopes_and_every_scope_is_advertised() {
        let policy = ScopePolicy::new("costs:read")
            .tool_scope("get_cost_and_usage_with_resources", "costs:resources")
            .tool_scope("get_cost_and_usage_with_resources", "costs:resources")
            .tool_scope("plain", "costs:read")
            .supported_scope("extra:scope");
        assert_eq!(policy.every_tool(), "costs:read");
        assert_eq!(
            policy.extra_for("get_cost_and_usage_with_resources"),
            ["costs:resources"]
        );
        assert!(policy.extra_for("plain").is_empty());
        assert!(policy.extra_for("no_such_tool").is_empty());
        assert_eq!(
            policy.supported(),
            ["costs:read", "costs:resources", "extra:scope"]
        );
    }

    #[test]
    fn declared_scopes_must_be_offered() {
        let policy = ScopePolicy::new("files:read").tool_scope("write", "files:write");
        let both = ScopeCatalogue::parse(Some("files:read files:write admin"), None).unwrap();
        assert_eq!(policy.check_offered(&both), Ok(()));
        let read = ScopeCatalogue::parse(Some("files:read"), None).unwrap();
        let refusal = policy.check_offered(&read).unwrap_err();
        assert!(refusal.contains("scopes files:write that"), "{refusal}");
        let refusal = policy
            .check_offered(&ScopeCatalogue::default())
            .unwrap_err();
        assert!(refusal.contains("files:read files:write that"), "{refusal}");
    }
}
