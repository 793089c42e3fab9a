//! Which OAuth scopes each tool needs: every tool needs `costs:read`, a few need more. The one
//! place that says so, below both the bearer layer (which answers a call lacking a scope with a
//! 403 `insufficient_scope` challenge before dispatch) and the tools (which check again).

use shared::oauth::scope;

/// The scope every tool needs.
pub const EVERY_TOOL: &str = scope::COSTS_READ;

/// The scopes the tool named `tool` needs beyond [`EVERY_TOOL`]; none for any other name,
/// unknown names included (the MCP service refuses those itself).
pub fn extra_for(tool: &str) -> &'static [&'static str] {
    match tool {
        "get_cost_and_usage_with_resources" => &[scope::COSTS_RESOURCES],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_resource_level_tool_needs_more_than_costs_read() {
        assert_eq!(
            extra_for("get_cost_and_usage_with_resources"),
            [scope::COSTS_RESOURCES]
        );
        assert!(extra_for("get_cost_and_usage").is_empty());
        assert!(extra_for("no_such_tool").is_empty());
    }
}
