//! Configuration, domain types, storage ports and adapters, tokens and telemetry shared by the
//! authorization server (`authz`) and the resource server (`mcp`).

#[cfg(feature = "runtime")]
pub mod audit;
#[cfg(feature = "runtime")]
pub mod aws;
pub mod clock;
#[cfg(feature = "runtime")]
pub mod config;
#[cfg(feature = "runtime")]
pub mod edge;
pub mod metrics;
pub mod oauth;
pub mod secret;
#[cfg(feature = "runtime")]
pub mod store;
#[cfg(feature = "runtime")]
pub mod telemetry;
pub mod token;
