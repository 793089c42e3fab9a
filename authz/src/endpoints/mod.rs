//! HTTP endpoints; each module exports its `router()`.

pub mod authorize;
pub mod callback;
pub mod consent;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod metadata;
pub mod page;
pub mod register;
pub mod revoke;
pub mod token;
