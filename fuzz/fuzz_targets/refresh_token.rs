//! The refresh token format (shared::oauth::refresh_token) on any text: a grant id comes out
//! only of the exact minted shape, and minting then parsing is the identity.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::oauth::refresh_token::{GRANT_ID_LEN, SECRET_LEN, grant_id_of, mint};
use shared::secret::Secret;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let token = Secret::new(text);
    if let Some(id) = grant_id_of(&token) {
        assert_eq!(text.len(), GRANT_ID_LEN + 1 + SECRET_LEN);
        assert_eq!(text.get(..GRANT_ID_LEN), Some(id));
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        // The same grant with a fresh secret: another token, with another hash.
        let fresh = mint(id);
        assert_eq!(grant_id_of(&fresh), Some(id));
        assert!(!fresh.matches(&token.hash()));
    }
    if let Some(id) = text.get(..GRANT_ID_LEN)
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        assert_eq!(grant_id_of(&mint(id)), Some(id));
    }
});
