//! Who made a request, as the flows see it: the source address and the user agent, for rate
//! limits and the audit trail. `extract::client_addr` reads it from the request.

use std::net::IpAddr;

/// The caller's source address and user agent; either may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}
