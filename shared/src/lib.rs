//! Configuration, domain types, storage ports and adapters, tokens and telemetry shared by the
//! authorization server (`authz`) and the resource server (`mcp`).

pub mod clock;
pub mod config;
pub mod edge;
pub mod oauth;
pub mod secret;
pub mod store;
pub mod telemetry;
pub mod token;
