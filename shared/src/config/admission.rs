//! Which clients may come in without an operator: dynamic registration (open, open to listed
//! redirect hosts only, or closed) and Client ID Metadata Documents (from any public host, from
//! listed hosts only, or none). Clients an operator adds (`admin clients add`) are always
//! admitted.

use url::Url;

use super::{ConfigError, keys};

/// Host names as an operator lists them: `example.com` (that host), `*.example.com` (any host
/// below it, not itself), or `loopback` (127.0.0.1, [::1] and localhost, any port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostList(Vec<HostPattern>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    Below(String),
    Loopback,
}

impl HostList {
    /// Reads a comma-separated list; refuses an empty one and anything that is not a host name.
    fn parse(setting: &'static str, raw: &str) -> Result<Self, ConfigError> {
        let mut patterns = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let entry = entry.to_ascii_lowercase();
            let pattern = if entry == "loopback" {
                HostPattern::Loopback
            } else if let Some(parent) = entry.strip_prefix("*.") {
                HostPattern::Below(host_name(setting, parent)?)
            } else {
                HostPattern::Exact(host_name(setting, &entry)?)
            };
            patterns.push(pattern);
        }
        if patterns.is_empty() {
            return Err(ConfigError::new(setting, "lists no host"));
        }
        Ok(Self(patterns))
    }

    /// Whether the host of `url` is listed.
    pub fn admits(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        self.0.iter().any(|pattern| match pattern {
            HostPattern::Exact(name) => host == *name,
            HostPattern::Below(parent) => host
                .strip_suffix(parent.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
            HostPattern::Loopback => crate::oauth::redirect_uri::is_loopback(url),
        })
    }
}

/// A host name (or address) as a URL parser reads it, without port, path or user information.
fn host_name(setting: &'static str, raw: &str) -> Result<String, ConfigError> {
    let refused = || {
        ConfigError::new(
            setting,
            format!("{raw:?} is not a host name (write example.com, *.example.com or loopback)"),
        )
    };
    if raw.is_empty() || raw.contains([':', '/', '@', '?', '#', '*', ' ']) {
        return Err(refused());
    }
    let url = Url::parse(&format!("https://{raw}/")).map_err(|_| refused())?;
    let host = url.host_str().ok_or_else(refused)?;
    if host != raw {
        return Err(refused());
    }
    Ok(host.to_owned())
}

/// Dynamic client registration (RFC 7591) at `/register`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// Anyone may register; with `redirect_hosts`, only clients whose every redirect URI is on a
    /// listed host.
    Open { redirect_hosts: Option<HostList> },
    /// `/register` refuses every request and is not advertised; operators add clients.
    Closed,
}

/// Client ID Metadata Documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Documents {
    /// From any public https host (the fetcher's address policy still applies).
    AnyHost,
    /// Only documents whose URL is on a listed host.
    Hosts(HostList),
    /// None: a URL client_id is an unknown client, and support is not advertised.
    Refused,
}

impl Documents {
    /// Whether a document at `url` may be fetched at all.
    pub fn admits(&self, url: &Url) -> bool {
        match self {
            Self::AnyHost => true,
            Self::Hosts(hosts) => hosts.admits(url),
            Self::Refused => false,
        }
    }
}

/// The registration settings: `SMCP_REGISTRATION` and `SMCP_REGISTRATION_REDIRECT_HOSTS`.
pub(super) fn parse_registration(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Registration, ConfigError> {
    let hosts = get(keys::REGISTRATION_REDIRECT_HOSTS)
        .map(|raw| HostList::parse(keys::REGISTRATION_REDIRECT_HOSTS, &raw))
        .transpose()?;
    match get(keys::REGISTRATION).as_deref().map(str::trim) {
        None | Some("open") => Ok(Registration::Open {
            redirect_hosts: hosts,
        }),
        Some("closed") if hosts.is_some() => Err(ConfigError::new(
            keys::REGISTRATION_REDIRECT_HOSTS,
            "has no effect with SMCP_REGISTRATION=closed; unset one of them",
        )),
        Some("closed") => Ok(Registration::Closed),
        Some(other) => Err(ConfigError::new(
            keys::REGISTRATION,
            format!("unknown value {other:?} (expected \"open\" or \"closed\")"),
        )),
    }
}

/// `SMCP_CIMD_HOSTS`: unset (any host), `none`, or a host list.
pub(super) fn parse_documents(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Documents, ConfigError> {
    match get(keys::CIMD_HOSTS) {
        None => Ok(Documents::AnyHost),
        Some(raw) if raw.trim().eq_ignore_ascii_case("none") => Ok(Documents::Refused),
        Some(raw) => HostList::parse(keys::CIMD_HOSTS, &raw).map(Documents::Hosts),
    }
}

/// `SMCP_CIMD_TEST_RESOLVE` (local testing, only beside `SMCP_CIMD_TEST_CA`): `host=ip:port`
/// pairs, each address a loopback one, so that no setting can send a document fetch elsewhere.
pub(super) fn parse_test_resolve(
    get: &impl Fn(&str) -> Option<String>,
    test_ca: bool,
) -> Result<Vec<(String, std::net::SocketAddr)>, ConfigError> {
    let setting = keys::CIMD_TEST_RESOLVE;
    let Some(raw) = get(setting) else {
        return Ok(Vec::new());
    };
    if !test_ca {
        return Err(ConfigError::new(
            setting,
            format!(
                "needs {} (it is part of the same local-testing set-up)",
                keys::CIMD_TEST_CA
            ),
        ));
    }
    let mut pairs = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let refused = || {
            ConfigError::new(
                setting,
                format!("{entry:?} is not host=127.0.0.1:port (a loopback address and a port)"),
            )
        };
        let (host, addr) = entry.split_once('=').ok_or_else(refused)?;
        let addr: std::net::SocketAddr = addr.trim().parse().map_err(|_| refused())?;
        if !addr.ip().is_loopback() || addr.port() == 0 {
            return Err(refused());
        }
        pairs.push((host_name(setting, &host.trim().to_ascii_lowercase())?, addr));
    }
    if pairs.is_empty() {
        return Err(ConfigError::new(setting, "lists no host"));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_resolve_pairs_are_loopback_only_and_need_the_test_ca() {
        let get = lookup(&[(
            keys::CIMD_TEST_RESOLVE,
            "Claude.ai=127.0.0.1:8443, x.example=[::1]:9",
        )]);
        assert_eq!(
            parse_test_resolve(&get, true).unwrap(),
            vec![
                ("claude.ai".to_owned(), "127.0.0.1:8443".parse().unwrap()),
                ("x.example".to_owned(), "[::1]:9".parse().unwrap()),
            ]
        );
        assert!(parse_test_resolve(&lookup(&[]), false).unwrap().is_empty());
        let without_ca = parse_test_resolve(&get, false).unwrap_err();
        assert!(
            without_ca.to_string().contains("SMCP_CIMD_TEST_CA"),
            "{without_ca}"
        );
        for bad in [
            "claude.ai=10.0.0.1:443",
            "claude.ai=127.0.0.1",
            "claude.ai=127.0.0.1:0",
            "claude.ai",
            "=127.0.0.1:443",
            "a/b=127.0.0.1:443",
            " , ",
        ] {
            let pairs = [(keys::CIMD_TEST_RESOLVE, bad)];
            let error = parse_test_resolve(&lookup(&pairs), true).unwrap_err();
            assert!(
                error.to_string().contains(keys::CIMD_TEST_RESOLVE),
                "{bad}: {error}"
            );
        }
    }

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    #[test]
    fn host_lists_match_exact_hosts_subdomains_and_loopback() {
        let hosts = HostList::parse("X", "Claude.ai, *.example.com,loopback").unwrap();
        for yes in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://a.example.com/cb",
            "https://b.a.example.com/cb",
            "http://127.0.0.1:33418/callback",
            "http://localhost/cb",
            "http://[::1]:9/cb",
        ] {
            assert!(hosts.admits(&url(yes)), "{yes}");
        }
        for no in [
            "https://example.com/cb",
            "https://evilexample.com/cb",
            "https://claude.ai.evil.com/cb",
            "https://notclaude.ai/cb",
            "com.example.app:/cb",
        ] {
            assert!(!hosts.admits(&url(no)), "{no}");
        }
        for bad in [
            "",
            " , ",
            "https://claude.ai",
            "claude.ai/cb",
            "*",
            "*.",
            "a b",
            "x:1",
        ] {
            assert!(HostList::parse("X", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn registration_and_document_settings() {
        assert_eq!(
            parse_registration(&lookup(&[])).unwrap(),
            Registration::Open {
                redirect_hosts: None
            }
        );
        assert_eq!(
            parse_registration(&lookup(&[(keys::REGISTRATION, "closed")])).unwrap(),
            Registration::Closed
        );
        let Registration::Open {
            redirect_hosts: Some(hosts),
        } = parse_registration(&lookup(&[(keys::REGISTRATION_REDIRECT_HOSTS, "claude.ai")]))
            .unwrap()
        else {
            panic!("open with hosts expected");
        };
        assert!(hosts.admits(&url("https://claude.ai/cb")));
        for (pairs, setting) in [
            (
                &[(keys::REGISTRATION, "invite-only")][..],
                keys::REGISTRATION,
            ),
            (
                &[
                    (keys::REGISTRATION, "closed"),
                    (keys::REGISTRATION_REDIRECT_HOSTS, "claude.ai"),
                ][..],
                keys::REGISTRATION_REDIRECT_HOSTS,
            ),
            (
                &[(keys::REGISTRATION_REDIRECT_HOSTS, "https://claude.ai")][..],
                keys::REGISTRATION_REDIRECT_HOSTS,
            ),
        ] {
            assert_eq!(
                parse_registration(&lookup(pairs)).unwrap_err().setting,
                setting
            );
        }

        assert_eq!(parse_documents(&lookup(&[])).unwrap(), Documents::AnyHost);
        assert_eq!(
            parse_documents(&lookup(&[(keys::CIMD_HOSTS, "None")])).unwrap(),
            Documents::Refused
        );
        let listed = parse_documents(&lookup(&[(keys::CIMD_HOSTS, "*.claude.ai")])).unwrap();
        assert!(listed.admits(&url("https://docs.claude.ai/client.json")));
        assert!(!listed.admits(&url("https://evil.example/client.json")));
        assert!(!Documents::Refused.admits(&url("https://docs.claude.ai/client.json")));
        assert_eq!(
            parse_documents(&lookup(&[(keys::CIMD_HOSTS, "claude.ai/x")]))
                .unwrap_err()
                .setting,
            keys::CIMD_HOSTS
        );
    }
}
