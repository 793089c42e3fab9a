//! The refresh token format (RFC 6749 §1.5, §6): `<grant id>.<secret>`, where the grant id is 32
//! lower-case hex characters naming the grant to look up and the secret is 256 random bits in
//! base64url (43 characters). The grant stores the SHA-256 of the whole token, never the token.

use crate::secret::Secret;

/// Length of the grant id part, in characters.
pub const GRANT_ID_LEN: usize = 32;
/// Length of the secret part, in characters.
pub const SECRET_LEN: usize = 43;

/// A new refresh token for `grant_id`: `<grant id>.<256-bit secret>`.
pub fn mint(grant_id: &str) -> Secret {
    Secret::new(format!("{grant_id}.{}", Secret::generate().expose()))
}

/// The grant id a refresh token names, if the token is well-formed: exactly the shape [`mint`]
/// produces for a grant id of [`GRANT_ID_LEN`] lower-case hex characters. Whether the token is
/// the grant's current one is decided by comparing hashes, not here.
pub fn grant_id_of(refresh_token: &Secret) -> Option<&str> {
    let (id, secret) = refresh_token.expose().split_once('.')?;
    let id_ok = id.len() == GRANT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let secret_ok = secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn minted_tokens_name_their_grant() {
        let token = mint(ID);
        assert_eq!(token.expose().len(), GRANT_ID_LEN + 1 + SECRET_LEN);
        assert_eq!(grant_id_of(&token), Some(ID));
    }

    #[test]
    fn malformed_tokens_name_no_grant() {
        let secret = "A".repeat(SECRET_LEN);
        for raw in [
            String::new(),
            "nodot".into(),
            "short.x".into(),
            format!("{ID}{secret}"),
            format!("{}.{secret}", ID.to_uppercase()),
            format!("{ID}.{}", "A".repeat(SECRET_LEN - 1)),
            format!("{ID}.{secret}A"),
            format!("{ID}.{}+", "A".repeat(SECRET_LEN - 1)),
            format!("{ID}.{}.", "A".repeat(SECRET_LEN - 1)),
            format!("{ID}.{}é", "A".repeat(SECRET_LEN - 2)),
        ] {
            assert_eq!(grant_id_of(&Secret::new(raw.clone())), None, "{raw}");
        }
    }
}
