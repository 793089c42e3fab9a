//! Redirect URIs: what may be registered (RFC 7591 §2, RFC 8252 §7, OAuth 2.1 §2.3.1) and how
//! a requested URI matches a registered one (exact string match; RFC 8252 §7.3 lets the port
//! of an http loopback redirect vary).

use std::net::IpAddr;

use url::{Host, Url};

use super::client_metadata::is_hidden_or_control;
use crate::secret::sha256_hex;

/// Longest accepted redirect URI, in bytes.
pub const MAX_LEN: usize = 2048;
/// Most redirect URIs one client may register.
pub const MAX_COUNT: usize = 10;

/// Schemes that can never be redirect targets: script execution, local files, opaque data.
const FORBIDDEN_SCHEMES: [&str; 8] = [
    "javascript",
    "data",
    "file",
    "vbscript",
    "blob",
    "about",
    "filesystem",
    "view-source",
];

/// Private-use schemes (RFC 8252 §7.1) must be reverse-DNS names, i.e. contain a `.`: that keeps
/// them out of the namespace of the short handler names operating systems and browsers register
/// for themselves (`ms-msdt:`, `search-ms:`, `shell:`, `intent:`, `itms-services:` ...). The one
/// exception is Cursor, a widely used MCP client whose scheme predates that rule
/// (`cursor://anysphere.cursor-mcp/oauth/callback`): it names one application, not an OS handler.
const UNDOTTED_APP_SCHEMES: [&str; 1] = ["cursor"];

/// Prefixes of private-use schemes that hand the URI to an operating-system or browser handler
/// even though they contain a `.`, and so are refused as redirect targets: Apple's own
/// namespaces (`x-apple.systempreferences:` opens System Settings panes; `com.apple.*` is
/// Apple's reverse-DNS space, which no third-party client owns), Windows' built-in app
/// handlers (`microsoft.windows.camera:`, `microsoft.windows.photos.*`) and Microsoft's
/// reserved `ms-` protocol namespace (`ms-msdt:` of CVE-2022-30190, `ms-officecmd:`,
/// `ms-appinstaller:`; the undotted ones fail the reverse-DNS rule anyway, dotted variants are
/// caught here). Compared with the scheme as parsed, i.e. lowercased.
const DANGEROUS_SCHEME_PREFIXES: [&str; 4] =
    ["x-apple.", "com.apple.", "microsoft.windows.", "ms-"];

/// Why a redirect URI cannot be registered; the text is the `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("redirect URI is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("redirect URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} must not contain a fragment")]
    Fragment(String),
    #[error("redirect URI {0:?} must not contain user information")]
    UserInfo(String),
    #[error("redirect URI {0:?} uses a forbidden scheme")]
    ForbiddenScheme(String),
    #[error("redirect URI {0:?} uses http on a host other than loopback (use https)")]
    InsecureHttp(String),
    #[error("redirect URI {0:?} has no host")]
    NoHost(String),
    #[error(
        "redirect URI {0:?} uses a private-use scheme that is not a reverse domain name \
         (RFC 8252 §7.1, e.g. com.example.app:/callback)"
    )]
    SchemeNotReverseDns(String),
    #[error("redirect URI {0:?} uses a scheme reserved for operating-system handlers")]
    HandlerScheme(String),
}

/// Checks one redirect URI for registration.
pub fn validate(raw: &str) -> Result<(), RedirectUriError> {
    if raw.len() > MAX_LEN {
        return Err(RedirectUriError::TooLong);
    }
    // Echoed in the error description: hidden and control characters made visible.
    let shown = || {
        raw.chars()
            .take(120)
            .map(|c| {
                if is_hidden_or_control(c) {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect::<String>()
    };
    if raw
        .chars()
        .any(|c| c.is_whitespace() || is_hidden_or_control(c))
    {
        return Err(RedirectUriError::NotAbsolute(shown()));
    }
    let url = Url::parse(raw).map_err(|_| RedirectUriError::NotAbsolute(shown()))?;
    if raw.contains('#') || url.fragment().is_some() {
        return Err(RedirectUriError::Fragment(shown()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::UserInfo(shown()));
    }
    let scheme = url.scheme();
    if FORBIDDEN_SCHEMES.contains(&scheme) {
        return Err(RedirectUriError::ForbiddenScheme(shown()));
    }
    match scheme {
        "https" if url.host().is_none() => Err(RedirectUriError::NoHost(shown())),
        "https" => Ok(()),
        "http" if !is_loopback(&url) => Err(RedirectUriError::InsecureHttp(shown())),
        "http" => Ok(()),
        // Private-use schemes of native apps (RFC 8252 §7.1, e.g. `com.example.app:/cb`).
        private => private_use_scheme(private).map_err(|e| e(shown())),
    }
}

/// Whether a private-use scheme may be registered; the error constructor if not.
fn private_use_scheme(scheme: &str) -> Result<(), fn(String) -> RedirectUriError> {
    if DANGEROUS_SCHEME_PREFIXES
        .iter()
        .any(|prefix| scheme.starts_with(prefix))
    {
        return Err(RedirectUriError::HandlerScheme);
    }
    // A reverse domain name: at least two non-empty labels (`com.example`, not `.app` or `app.`).
    let reverse_dns = scheme.split('.').count() >= 2 && scheme.split('.').all(|l| !l.is_empty());
    if reverse_dns || UNDOTTED_APP_SCHEMES.contains(&scheme) {
        Ok(())
    } else {
        Err(RedirectUriError::SchemeNotReverseDns)
    }
}

/// A short digest of a client's redirect URI set as registered: order and repeats do not
/// matter, any other change does. An approval (the browser's approval cookie, the server-side
/// consent record) keeps it, and covers the client only while the digest still matches, so a
/// change of `redirect_uris` (RFC 7592 update, a new metadata document) asks for consent again.
pub fn set_digest(redirect_uris: &[String]) -> String {
    let mut uris: Vec<&str> = redirect_uris.iter().map(String::as_str).collect();
    uris.sort_unstable();
    uris.dedup();
    // Length-prefixed, so no two different sets serialise alike.
    let text: String = uris.iter().map(|u| format!("{}:{u}\n", u.len())).collect();
    sha256_hex(text.as_bytes()).chars().take(32).collect()
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Whether the redirect URI sent in an authorization request matches one registered URI:
/// byte-for-byte, except that for an http loopback URI the port may differ (RFC 8252 §7.3).
pub fn matches_registered(requested: &str, registered: &str) -> bool {
    if requested == registered {
        return true;
    }
    let (Ok(req), Ok(reg)) = (Url::parse(requested), Url::parse(registered)) else {
        return false;
    };
    reg.scheme() == "http"
        && req.scheme() == "http"
        && is_loopback(&reg)
        && req.host() == reg.host()
        && req.path() == reg.path()
        && req.query() == reg.query()
        && req.fragment().is_none()
        && req.username().is_empty()
        && req.password().is_none()
        // Compare the raw text too, apart from the port, so no normalisation sneaks in.
        && without_port(requested) == without_port(registered)
}

/// The URI text with the `:port` of the authority removed.
fn without_port(raw: &str) -> String {
    let Some(rest) = raw.strip_prefix("http://") else {
        return raw.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let host = match authority.rfind(':') {
        Some(i) if authority.get(i..).is_some_and(|port| !port.contains(']')) => {
            authority.get(..i).unwrap_or(authority)
        }
        _ => authority,
    };
    format!("http://{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_accepts_real_clients() {
        for uri in [
            "https://claude.ai/api/mcp/auth_callback",
            "https://claude.com/api/mcp/auth_callback",
            "http://127.0.0.1:6274/oauth/callback",
            "http://localhost:3000/callback",
            "http://[::1]:8080/cb",
            "http://127.0.0.1/cb",
            "com.example.app:/oauth2redirect",
            "io.github.someone.tool:/cb",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "cursor://anysphere.cursor-mcp/oauth/callback",
            "https://vscode.dev/redirect",
        ] {
            assert_eq!(validate(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn registration_rejects_dangerous_uris() {
        let cases = [
            ("javascript:alert(1)", "forbidden"),
            ("data:text/html,<script>alert(1)</script>", "forbidden"),
            ("file:///etc/passwd", "forbidden"),
            ("JavaScript:alert(1)", "forbidden"),
            ("https://evil.example/cb#frag", "fragment"),
            ("https://evil.example/cb#", "fragment"),
            ("https://user:pw@evil.example/cb", "user information"),
            ("https://user@evil.example/cb", "user information"),
            ("http://evil.example/cb", "http"),
            ("http://10.0.0.1/cb", "http"),
            ("/relative/cb", "absolute"),
            ("https://exa mple.com/cb", "absolute"),
            ("", "absolute"),
        ];
        for (uri, why) in cases {
            let err = validate(uri).expect_err(uri);
            assert!(err.to_string().contains(why), "{uri}: {err}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_LEN));
        assert_eq!(validate(&long), Err(RedirectUriError::TooLong));
    }

    #[test]
    fn private_use_schemes_must_be_reverse_dns_and_not_os_handlers() {
        let cases = [
            // Not reverse-DNS names: the short names OS and browser handlers use.
            ("myapp:/cb", "reverse domain"),
            ("ms-msdt:/id PCWDiagnostic", "absolute"),
            ("ms-msdt:/id", "operating-system"),
            ("search-ms:query=x", "reverse domain"),
            ("shell:startup", "reverse domain"),
            ("intent://scan/#Intent;end", "fragment"),
            ("intent://scan/", "reverse domain"),
            (
                "itms-services://?action=download-manifest",
                "reverse domain",
            ),
            ("vscode://cb", "reverse domain"),
            ("mailto:a@example.com", "reverse domain"),
            ("tel:+15555550100", "reverse domain"),
            ("ssh://host/cb", "reverse domain"),
            ("ftp://host/cb", "reverse domain"),
            ("ws://127.0.0.1/cb", "reverse domain"),
            ("com.:/cb", "reverse domain"),
            // Dotted, but handed to OS handlers.
            (
                "x-apple.systempreferences:com.apple.preference.security",
                "operating-system",
            ),
            ("X-Apple.SystemPreferences:/cb", "operating-system"),
            ("com.apple.reminders:/cb", "operating-system"),
            ("microsoft.windows.camera:/cb", "operating-system"),
            ("ms-officecmd.x:/cb", "operating-system"),
            // The old refusals still hold.
            ("javascript:alert(1)", "forbidden"),
            ("view-source:https://a.example/", "forbidden"),
        ];
        for (uri, why) in cases {
            let err = validate(uri).expect_err(uri);
            assert!(err.to_string().contains(why), "{uri}: {err}");
        }
    }

    #[test]
    fn hidden_and_control_characters_are_refused() {
        for uri in [
            "https://a.example/c\u{202e}b",
            "https://a.example/cb\u{200b}",
            "com.example.app:/c\u{2066}b",
            "https://a.example/\u{1b}[31m",
            "https://a.example/\u{9b}31m",
        ] {
            assert!(
                matches!(validate(uri), Err(RedirectUriError::NotAbsolute(_))),
                "{uri:?}"
            );
        }
    }

    #[test]
    fn set_digest_ignores_order_and_repeats_only() {
        let v = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let a = set_digest(&v(&["https://a.example/cb", "https://b.example/cb"]));
        assert_eq!(a.len(), 32);
        assert_eq!(
            a,
            set_digest(&v(&[
                "https://b.example/cb",
                "https://a.example/cb",
                "https://a.example/cb"
            ]))
        );
        assert_ne!(a, set_digest(&v(&["https://a.example/cb"])));
        assert_ne!(
            a,
            set_digest(&v(&["https://a.example/cb", "https://evil.example/cb"]))
        );
        assert_ne!(
            set_digest(&v(&["https://a.example/cb\n2:xx"])),
            set_digest(&v(&["https://a.example/cb", "xx"]))
        );
    }

    #[test]
    fn matching_is_exact_except_loopback_ports() {
        let registered = "https://app.example.com/cb";
        let loopback = "http://127.0.0.1:3000/cb";
        let cases = [
            (registered, registered, true, "identical"),
            (
                "https://app.example.com/cb/extra",
                registered,
                false,
                "extra path",
            ),
            ("https://app.example.com/c", registered, false, "prefix"),
            (
                "https://app.example.com/cb/",
                registered,
                false,
                "trailing slash",
            ),
            ("https://app.example.com/CB", registered, false, "path case"),
            (
                "https://APP.example.com/cb",
                registered,
                false,
                "host case is not normalised",
            ),
            (
                "https://app.example.com:8443/cb",
                registered,
                false,
                "other port off loopback",
            ),
            (
                "https://app.example.com/cb?x=1",
                registered,
                false,
                "added query",
            ),
            (
                "http://app.example.com/cb",
                registered,
                false,
                "scheme downgrade",
            ),
            (
                "http://127.0.0.1:51234/cb",
                loopback,
                true,
                "loopback port varies",
            ),
            (
                "http://127.0.0.1/cb",
                loopback,
                true,
                "loopback without port",
            ),
            (
                "http://127.0.0.1:51234/cb2",
                loopback,
                false,
                "loopback other path",
            ),
            (
                "http://localhost:3000/cb",
                loopback,
                false,
                "other loopback host",
            ),
            (
                "http://[::1]:9/cb",
                "http://[::1]:8080/cb",
                true,
                "ipv6 loopback port",
            ),
            (
                "http://localhost:1/cb",
                "http://localhost:2/cb",
                true,
                "localhost port",
            ),
            ("http://127.0.0.1:5/cb#x", loopback, false, "fragment"),
            ("http://u@127.0.0.1:5/cb", loopback, false, "userinfo"),
        ];
        for (requested, registered, expected, what) in cases {
            assert_eq!(
                matches_registered(requested, registered),
                expected,
                "{what}"
            );
        }
    }
}
