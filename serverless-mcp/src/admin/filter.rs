//! The filters an investigation needs, shared by `clients list` and the audit commands: where a
//! request came from (`--from`, an address or a CIDR range), what the client called itself
//! (`--name`) and what software it said it was (`--user-agent`), and the order of a listing.

use std::net::IpAddr;

use clap::Args;
use ipnet::IpNet;

/// `--from`, `--user-agent` and (where the data has it) `--name`.
#[derive(Debug, Clone, Default, Args)]
pub struct Investigate {
    /// Only what came from this address, or from this CIDR range (`203.0.113.0/24`).
    #[arg(long, value_name = "ADDR|CIDR", value_parser = parse_from)]
    pub from: Option<IpNet>,
    /// Only what came with a user agent containing this text (any case).
    #[arg(long, value_name = "TEXT")]
    pub user_agent: Option<String>,
}

impl Investigate {
    /// Whether a record with this source address and user agent passes.
    pub fn keeps(&self, address: Option<&str>, user_agent: Option<&str>) -> bool {
        self.from.is_none_or(|net| within(&net, address))
            && self
                .user_agent
                .as_deref()
                .is_none_or(|want| contains(user_agent, want))
    }
}

/// `--from`: an address (exactly that one) or a CIDR range.
pub fn parse_from(raw: &str) -> Result<IpNet, String> {
    if raw.contains('/') {
        raw.parse::<IpNet>().map(|net| net.trunc()).map_err(|_| {
            format!("{raw:?} is not a CIDR range such as 203.0.113.0/24 or 2001:db8::/32")
        })
    } else {
        raw.parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| format!("{raw:?} is not an IP address or a CIDR range"))
    }
}

/// Whether a stored address (absent or unparsable: no) is in `net`; an IPv4-mapped IPv6
/// address counts as its IPv4 address.
fn within(net: &IpNet, address: Option<&str>) -> bool {
    address
        .and_then(|a| a.parse::<IpAddr>().ok())
        .map(|a| match a {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
            v4 => v4,
        })
        .is_some_and(|a| net.contains(&a))
}

/// Whether `text` contains `want`, ignoring case (absent text contains nothing).
pub fn contains(text: Option<&str>, want: &str) -> bool {
    text.is_some_and(|t| t.to_lowercase().contains(&want.to_lowercase()))
}

/// Listing order: newest first unless `--oldest-first`.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Order {
    /// Oldest first, in pages (`--limit N`, then `--after CURSOR`) [default: newest first].
    #[arg(long)]
    pub oldest_first: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_takes_an_address_or_a_range() {
        let one = Investigate {
            from: Some(parse_from("192.0.2.7").unwrap()),
            ..Investigate::default()
        };
        assert!(one.keeps(Some("192.0.2.7"), None));
        assert!(!one.keeps(Some("192.0.2.8"), None));
        assert!(!one.keeps(None, None));
        assert!(!one.keeps(Some("not an address"), None));
        let range = Investigate {
            from: Some(parse_from("192.0.2.99/24").unwrap()),
            ..Investigate::default()
        };
        assert!(range.keeps(Some("192.0.2.200"), None));
        assert!(range.keeps(Some("::ffff:192.0.2.1"), None));
        assert!(!range.keeps(Some("192.0.3.1"), None));
        let v6 = parse_from("2001:db8::/32").unwrap();
        assert!(within(&v6, Some("2001:db8:1::5")));
        for bad in ["192.0.2.0/33", "example.com", "10.0.0/8", ""] {
            assert!(parse_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_agent_is_a_substring_in_any_case() {
        let f = Investigate {
            user_agent: Some("Claude".into()),
            ..Investigate::default()
        };
        assert!(f.keeps(None, Some("claude-code/1.0")));
        assert!(!f.keeps(None, Some("curl/8")));
        assert!(!f.keeps(None, None));
        assert!(Investigate::default().keeps(None, None));
    }
}
