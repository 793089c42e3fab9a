//! Redirect URI registration and matching rules.

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
    let v = |items: &[&str]| {
        items
            .iter()
            .map(|s| RedirectUri::from_stored((*s).to_owned()))
            .collect::<Vec<_>>()
    };
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

#[test]
fn redirect_uri_is_validated_and_stored_as_the_bare_string() {
    let uri = RedirectUri::parse("http://127.0.0.1:3000/cb").unwrap();
    assert_eq!(
        serde_json::to_value(&uri).unwrap(),
        serde_json::json!("http://127.0.0.1:3000/cb")
    );
    let read: RedirectUri = serde_json::from_str("\"http://127.0.0.1:3000/cb\"").unwrap();
    assert_eq!(read, uri);
    assert_eq!(uri.to_string(), uri.as_str());
    assert!(matches!(
        RedirectUri::parse("javascript:alert(1)"),
        Err(RedirectUriError::ForbiddenScheme(_))
    ));
}

#[test]
fn select_keeps_the_requested_loopback_port() {
    let registered = [
        RedirectUri::parse("https://app.example.com/cb").unwrap(),
        RedirectUri::parse("http://127.0.0.1:3000/cb").unwrap(),
    ];
    let chosen = RedirectUri::select(&registered, "http://127.0.0.1:51234/cb").unwrap();
    assert_eq!(chosen.as_str(), "http://127.0.0.1:51234/cb");
    assert!(registered[0].admits("https://app.example.com/cb"));
    assert_eq!(
        RedirectUri::select(&registered, "https://app.example.com/cb/x"),
        None
    );
}
