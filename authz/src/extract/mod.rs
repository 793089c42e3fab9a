//! Request extractors that turn HTTP details into validated inputs or OAuth errors.

pub mod client_addr;
pub mod client_auth;
pub mod form;
