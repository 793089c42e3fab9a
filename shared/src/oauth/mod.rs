//! Validated OAuth types shared by the authorization server and the resource server.

pub mod client_id;
pub mod client_metadata;
pub mod client_values;
pub mod pkce;
#[cfg(test)]
mod properties;
pub mod redirect_uri;
pub mod refresh_token;
pub mod resource;
pub mod scope;
