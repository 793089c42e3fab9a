//! PKCE (shared::oauth::pkce, RFC 7636): verifier and challenge parsing on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::oauth::pkce::{CodeChallenge, CodeVerifier};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, second) = text.split_once('\n').unwrap_or((text, ""));
    for method in [None, Some("S256"), Some("plain"), Some(second)] {
        let _ = CodeChallenge::parse(Some(first), method);
    }
    if let Ok(verifier) = CodeVerifier::parse(first) {
        assert!((43..=128).contains(&first.len()));
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        );
        let challenge = CodeChallenge::for_verifier(&verifier);
        assert!(verifier.matches(challenge.as_str()));
        assert!(CodeChallenge::parse(Some(challenge.as_str()), Some("S256")).is_ok());
        if second != first {
            assert!(!verifier.matches(second) || second == challenge.as_str());
        }
    }
});
