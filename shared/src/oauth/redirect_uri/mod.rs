//! Redirect URIs: what may be registered (RFC 7591 §2, RFC 8252 §7, OAuth 2.1 §2.3.1) and how
//! a requested URI matches a registered one (exact string match; RFC 8252 §7.3 lets the port
//! of an http loopback redirect vary).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
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

/// A redirect URI that passed [`validate`], or one the store holds (validated when it was
/// registered or requested). Serialised as the bare string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Validates `raw` for registration.
    pub fn parse(raw: &str) -> Result<Self, RedirectUriError> {
        validate(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// A value read back from the store, where only validated URIs are written.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    /// The registered URI among `registered` that the URI sent in an authorization request
    /// matches ([`matches_registered`]), and then the URI as sent: with an http loopback
    /// redirect its port may differ from the registered one (RFC 8252 §7.3).
    pub fn select(registered: &[Self], requested: &str) -> Option<Self> {
        registered
            .iter()
            .any(|r| r.admits(requested))
            .then(|| Self(requested.to_owned()))
    }

    /// Whether `requested` matches this registered URI ([`matches_registered`]).
    pub fn admits(&self, requested: &str) -> bool {
        matches_registered(requested, &self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for RedirectUri {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RedirectUri {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl AsRef<str> for RedirectUri {
    fn as_ref(&self) -> &str {
        &self.0
    }
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
pub fn set_digest(redirect_uris: &[RedirectUri]) -> String {
    let mut uris: Vec<&str> = redirect_uris.iter().map(RedirectUri::as_str).collect();
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
mod tests;
