//! Validated OAuth types shared by the authorization server and the resource server.

pub mod client_metadata;
pub mod scope;
