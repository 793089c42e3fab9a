//! Which metadata document URLs and addresses may be fetched: https URLs in normal form, and
//! only public unicast addresses, so a client cannot point the server at loopback, private
//! networks or cloud metadata services.

use std::net::IpAddr;

use async_trait::async_trait;

use super::{DocumentError, MAX_URL};

/// Name resolution, injectable so tests can point names anywhere.
#[async_trait]
pub trait HostLookup: Send + Sync + 'static {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver.
pub struct SystemLookup;

#[async_trait]
impl HostLookup for SystemLookup {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 443))
            .await?
            .map(|addr| addr.ip())
            .collect())
    }
}

/// Decides which resolved addresses may be connected to.
pub type AddressPolicy = fn(IpAddr) -> bool;

/// Whether an address is an ordinary public unicast address: not loopback, private, link-local
/// (which holds cloud metadata services), shared (CGNAT), documentation, multicast, reserved,
/// or an IPv6 form that embeds one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let first = seg.first().copied().unwrap_or(0);
            // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
            if seg.get(..6) == Some(&[0x64, 0xff9b, 0, 0, 0, 0]) {
                let [.., hi, lo] = seg;
                let v4 = std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
                return is_public(IpAddr::V4(v4));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && seg.get(1) == Some(&0x0db8) // documentation
                || seg.get(..6) == Some(&[0, 0, 0, 0, 0, 0])) // IPv4-compatible
        }
    }
}

/// Checks the client_id URL itself: https, a host, a path, no fragment, userinfo or dot
/// segments; an IP-literal host must pass the address policy.
pub fn check_url(client_id: &str, allow: AddressPolicy) -> Result<url::Url, DocumentError> {
    if client_id.len() > MAX_URL {
        return Err(DocumentError::BadUrl("longer than 2048 bytes"));
    }
    let url = url::Url::parse(client_id).map_err(|_| DocumentError::BadUrl("not a URL"))?;
    if url.scheme() != "https" {
        return Err(DocumentError::BadUrl("not https"));
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err(DocumentError::BadUrl("has no path"));
    }
    if url.as_str() != client_id {
        return Err(DocumentError::BadUrl("not in normalised form"));
    }
    if url.fragment().is_some() || client_id.contains('#') {
        return Err(DocumentError::BadUrl("has a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DocumentError::BadUrl("has user information"));
    }
    if client_id.contains("/./") || client_id.contains("/../") {
        return Err(DocumentError::BadUrl("has dot segments"));
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) if !allow(IpAddr::V4(ip)) => Err(DocumentError::ForbiddenAddress),
        Some(url::Host::Ipv6(ip)) if !allow(IpAddr::V6(ip)) => Err(DocumentError::ForbiddenAddress),
        Some(_) => Ok(url),
        None => Err(DocumentError::BadUrl("has no host")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_allowed() {
        let refused = [
            "127.0.0.1",
            "127.8.9.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::a00:1",
            "ff02::1",
            "2001:db8::1",
            "::127.0.0.1",
        ];
        for ip in refused {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn client_id_urls_are_checked_before_any_request() {
        let cases = [
            ("http://client.example/meta.json", "https"),
            ("https://client.example", "no path"),
            ("https://client.example/", "no path"),
            ("https://client.example/m.json#x", "fragment"),
            ("https://user:pw@client.example/m.json", "user information"),
            ("https://client.example/a/../m.json", "normalised"),
            ("https://CLIENT.example/m.json", "normalised"),
        ];
        for (url, why) in cases {
            let err = check_url(url, is_public).expect_err(url);
            assert!(err.to_string().contains(why), "{url}: {err}");
        }
        for url in [
            "https://10.0.0.1/m.json",
            "https://[::1]/m.json",
            "https://169.254.169.254/latest",
        ] {
            assert_eq!(
                check_url(url, is_public),
                Err(DocumentError::ForbiddenAddress),
                "{url}"
            );
        }
        let long = format!("https://client.example/{}", "a".repeat(MAX_URL));
        assert!(check_url(&long, is_public).is_err());
        assert!(check_url("https://client.example/oauth/metadata.json", is_public).is_ok());
    }
}
