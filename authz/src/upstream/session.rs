//! The upstream session kept with a grant: the identity provider's refresh token from the login,
//! sealed at rest with AES-256-GCM (NIST SP 800-38D) under a key derived from the cookie key, and
//! bound (as associated data) to the user and client of the grant it belongs to, so a sealed
//! value moved to another user's or client's grant does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::secret::Secret;

/// Label of the sealing key derived from the cookie key (never used for anything else).
pub const KEY_PURPOSE: &str = "upstream-session-seal-v1";
/// Version prefix of a sealed value.
const PREFIX: &str = "v1.";

/// Seals and opens upstream sessions. Never printed.
pub struct SessionSeal {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl SessionSeal {
    /// A seal over 32 key bytes (derived from the cookie key by the caller).
    pub fn new(key: &[u8; 32]) -> Option<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, key).ok()?;
        Some(Self {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    /// `v1.` + base64url(nonce ‖ ciphertext ‖ tag) of `token`, bound to `sub` and `client_id`;
    /// a fresh random 96-bit nonce each time. `None` only if the system RNG fails.
    pub fn seal(&self, token: &Secret, sub: &str, client_id: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut data = token.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(sub, client_id)),
                &mut data,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Some(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// The token sealed in `sealed` for `sub` and `client_id`; `None` if it was sealed under
    /// another key, for another user or client, or altered.
    pub fn open(&self, sealed: &str, sub: &str, client_id: &str) -> Option<Secret> {
        let raw = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        let (nonce, ciphertext) = raw.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(associated_data(sub, client_id)), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok().map(Secret::new)
    }
}

impl std::fmt::Debug for SessionSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSeal([redacted])")
    }
}

/// Length-prefixed, so no two (sub, client_id) pairs give the same bytes.
fn associated_data(sub: &str, client_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + sub.len() + client_id.len());
    for part in [sub, client_id] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_sessions_open_only_for_their_user_client_and_key() {
        let seal = SessionSeal::new(&[7; 32]).unwrap();
        let token = Secret::new("upstream-refresh-token");
        let sealed = seal.seal(&token, "alice", "client-1").unwrap();
        assert!(!sealed.contains("upstream-refresh-token"));
        assert_ne!(
            sealed,
            seal.seal(&token, "alice", "client-1").unwrap(),
            "a fresh nonce each time"
        );
        let opened = seal.open(&sealed, "alice", "client-1").unwrap();
        assert!(opened.ct_eq(&token));
        assert!(seal.open(&sealed, "bob", "client-1").is_none());
        assert!(seal.open(&sealed, "alice", "client-2").is_none());
        assert!(seal.open(&sealed, "alicec", "lient-1").is_none());
        let other = SessionSeal::new(&[8; 32]).unwrap();
        assert!(other.open(&sealed, "alice", "client-1").is_none());
        let mut altered = sealed.clone().into_bytes();
        if let Some(last) = altered.last_mut() {
            *last = if *last == b'A' { b'B' } else { b'A' };
        }
        let altered = String::from_utf8(altered).unwrap();
        assert!(seal.open(&altered, "alice", "client-1").is_none());
        assert!(seal.open("v1.", "alice", "client-1").is_none());
        assert!(seal.open("garbage", "alice", "client-1").is_none());
        assert_eq!(format!("{seal:?}"), "SessionSeal([redacted])");
    }
}
