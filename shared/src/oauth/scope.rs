//! The scopes this deployment defines (docs/architecture.md, "Policies").

/// Baseline: every read-only cost tool.
pub const COSTS_READ: &str = "costs:read";
/// Resource-level cost data (more sensitive, more expensive).
pub const COSTS_RESOURCES: &str = "costs:resources";
/// Every supported scope, advertised in metadata.
pub const SUPPORTED: [&str; 2] = [COSTS_READ, COSTS_RESOURCES];
