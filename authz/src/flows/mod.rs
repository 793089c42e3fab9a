//! The OAuth flows, free of HTTP: each takes validated inputs and the state, and returns a
//! result or an [`crate::OAuthError`].

pub mod clients;
