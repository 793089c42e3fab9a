//! HTTP endpoints; each module exports its `router()`.

pub mod metadata;
