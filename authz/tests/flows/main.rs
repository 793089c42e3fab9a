//! Flow tests of the authorization server through its router, over in-memory SQLite with a
//! manual clock: every "Authorization endpoint" and "Token endpoint" line of SECURITY.md.

// A test binary: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod abuse_limits;
mod authorize;
mod browser_binding;
mod cognito_directory;
mod cognito_login;
mod cognito_session;
mod consent;
mod faults;
mod faults_dynamo;
mod faults_sqlite;
mod faults_upstream;
mod introspect;
mod logs;
mod redeem_conflict;
mod refresh;
mod revoke;
mod scopes;
mod support;
mod token;
