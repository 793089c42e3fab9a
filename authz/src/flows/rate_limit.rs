//! Per-source fixed-window limits against abuse (SECURITY.md, threat model): one counter per caller
//! and window in the store, so every instance shares it. An IPv6 caller controls at least a /64, so
//! it is counted by its /64; an IPv4 caller (IPv4-mapped IPv6 included) by its address.

use std::net::{IpAddr, Ipv6Addr};

use shared::config::RateLimit;

use crate::AppState;
use crate::error::OAuthError;

/// The source a limit counts: the IPv4 address (an IPv4-mapped IPv6 address counts as its IPv4
/// address), or the IPv6 /64 network.
pub fn source_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX));
            format!("{network}/64")
        }
    }
}

/// A caller's address in the form limits and exempt ranges compare: an IPv4-mapped IPv6
/// address as IPv4. `None` when the address is unknown.
pub fn source_ip(ip: Option<IpAddr>) -> Option<IpAddr> {
    ip.map(|ip| ip.to_canonical())
}

/// Counts one request of `bucket` from `ip`; `RateLimited`, with the seconds left in the
/// window, once the window's limit is spent.
pub async fn hit(
    state: &AppState,
    bucket: &str,
    ip: IpAddr,
    limit: RateLimit,
) -> Result<(), OAuthError> {
    let source = source_key(ip);
    let hits = state
        .stores
        .rate_limits
        .hit(&format!("{bucket}:{source}"), limit.window_secs)
        .await?;
    if hits > limit.max {
        let window = i64::try_from(limit.window_secs.max(1)).unwrap_or(i64::MAX);
        let retry = window - state.now().rem_euclid(window);
        tracing::warn!(bucket, %source, hits, "rate limit reached");
        return Err(OAuthError::RateLimited {
            retry_after_secs: u64::try_from(retry.max(1)).unwrap_or(1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_and_ipv4_by_address() {
        let cases = [
            ("192.0.2.7", "192.0.2.7"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::1", "::/64"),
        ];
        for (ip, key) in cases {
            assert_eq!(source_key(ip.parse().unwrap()), key, "{ip}");
        }
    }
}
