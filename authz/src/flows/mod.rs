//! The OAuth flows, free of HTTP: each takes validated inputs and the state, and returns a
//! result or an [`crate::OAuthError`].

pub mod approvals;
pub mod audit;
pub mod authorization_code;
pub mod authorize;
pub mod browser;
pub mod callback;
pub mod caller;
pub mod client_auth;
pub mod client_id_metadata;
pub mod clients;
pub mod consent;
pub mod introspection;
pub mod login;
pub mod rate_limit;
pub mod refresh_token;
pub mod registration;
pub mod revocation;
pub mod token_request;
