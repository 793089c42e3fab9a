//! Redirect URI registration rules and matching (shared::oauth::redirect_uri) on any text: the
//! input is a candidate URI, or `requested\nregistered` for matching.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::oauth::redirect_uri::{MAX_LEN, is_loopback, matches_registered, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if validate(text).is_ok() {
        assert!(text.len() <= MAX_LEN);
        assert!(!text.contains('#'), "fragment accepted: {text:?}");
        let url = url::Url::parse(text).expect("accepted URIs parse");
        assert!(url.username().is_empty() && url.password().is_none());
        assert!(
            url.scheme() != "http" || is_loopback(&url),
            "plain http: {text:?}"
        );
        assert!(
            !["javascript", "data", "file", "vbscript", "blob"].contains(&url.scheme()),
            "{text:?}"
        );
        assert!(matches_registered(text, text));
    }
    let (requested, registered) = text.split_once('\n').unwrap_or((text, text));
    if matches_registered(requested, registered) && requested != registered {
        // Only an http loopback port may differ.
        let (req, reg) = (url::Url::parse(requested), url::Url::parse(registered));
        let (Ok(req), Ok(reg)) = (req, reg) else {
            panic!("matched unparseable URIs {requested:?} ~ {registered:?}")
        };
        assert_eq!(req.scheme(), "http");
        assert!(is_loopback(&reg));
        assert_eq!(
            (req.host(), req.path(), req.query()),
            (reg.host(), reg.path(), reg.query())
        );
        assert!(req.fragment().is_none());
    }
});
