//! The OAuth 2.1 authorization server facade: one axum router, run on Lambda by `main.rs` and
//! inside `serverless-mcp serve`.

mod endpoints;
mod error;
mod extract;
mod flows;
mod state;
#[cfg(test)]
mod test_support;
pub mod upstream;

use axum::Router;

pub use error::OAuthError;
pub use flows::client_id_metadata::{
    DocumentFetcher, HostLookup, SystemLookup, is_public, test_ca_certificates,
};
pub use state::{AppState, signer};

/// The whole authorization server.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(endpoints::metadata::router())
        .merge(endpoints::jwks::router())
        .merge(endpoints::register::router())
        .merge(endpoints::authorize::router())
        .merge(endpoints::consent::router())
        .merge(endpoints::login::router())
        .merge(endpoints::callback::router())
        .merge(endpoints::token::router())
        .merge(endpoints::revoke::router())
        .with_state(state)
}
