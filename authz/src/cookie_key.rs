//! The cookie key: HMAC-SHA256 (RFC 2104) MACs over purpose-labelled values, for the
//! consent-approval cookie, CSRF tokens and the embedded login's one-time assertion. Not a token
//! signing key: JWTs are signed by `shared::token`. The key comes from configuration, a key file
//! in the data dir, or (last resort) the process.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::secret::{Secret, constant_time_eq};

/// A MAC key; never printed.
pub struct CookieKey(hmac::Key);

impl CookieKey {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_bytes(Secret::generate().expose().as_bytes())
    }

    /// The MAC of `parts` under `purpose`, base64url. Parts are length-prefixed so no two
    /// different inputs collide.
    pub fn mac(&self, purpose: &str, parts: &[&str]) -> String {
        let mut context = hmac::Context::with_key(&self.0);
        for part in std::iter::once(&purpose).chain(parts) {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }

    /// Whether `mac` is the MAC of `parts` under `purpose` (constant time).
    pub fn verify(&self, purpose: &str, parts: &[&str], mac: &str) -> bool {
        constant_time_eq(self.mac(purpose, parts).as_bytes(), mac.as_bytes())
    }

    /// The key for this configuration: `SMCP_COOKIE_KEY`, else `cookie.key` in the data dir
    /// (created 0600 on first use), else a per-process key (cookies then last one process).
    pub fn load(config: &shared::config::Config) -> Self {
        if let Some(key) = &config.cookie_key {
            return Self::from_bytes(key.expose().as_bytes());
        }
        let path = config.data_dir.join("cookie.key");
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing.trim().len() >= 43 => {
                return Self::from_bytes(existing.trim().as_bytes());
            }
            _ => {}
        }
        let fresh = Secret::generate();
        if write_private(&path, fresh.expose()).is_err() {
            tracing::warn!(
                "no cookie key configured or storable; consent cookies last one process"
            );
        }
        Self::from_bytes(fresh.expose().as_bytes())
    }
}

fn write_private(path: &std::path::Path, value: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(value.as_bytes())
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_bind_purpose_and_parts() {
        let key = CookieKey::from_bytes(b"k");
        let mac = key.mac("csrf", &["a", "b"]);
        assert!(key.verify("csrf", &["a", "b"], &mac));
        assert!(!key.verify("login", &["a", "b"], &mac));
        assert!(!key.verify("csrf", &["ab", ""], &mac));
        assert!(!CookieKey::from_bytes(b"other").verify("csrf", &["a", "b"], &mac));
    }
}
