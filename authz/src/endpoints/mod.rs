//! HTTP endpoints; each module exports its `router()`.

pub mod jwks;
pub mod metadata;
