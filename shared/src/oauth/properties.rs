//! Property tests for the OAuth parsers and validators: redirect URI rules and matching, and
//! PKCE verifiers. Random inputs must never panic, and the rules must hold for all of them.

use proptest::prelude::*;

use super::pkce::{CodeChallenge, CodeVerifier};
use super::redirect_uri::{matches_registered, validate};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any input is either accepted or refused with a reason; nothing panics.
    #[test]
    fn validation_is_total(raw in ".{0,300}") {
        let _ = validate(&raw);
        let _ = matches_registered(&raw, "https://app.example.com/cb");
        let _ = matches_registered("http://127.0.0.1:3000/cb", &raw);
    }

    /// A fragment, user information or a script scheme is never accepted.
    #[test]
    fn dangerous_shapes_are_always_refused(
        host in "[a-z]{1,12}\\.example",
        path in "[a-z0-9/]{0,20}",
        tail in "[a-z0-9]{0,10}",
        scheme in prop::sample::select(vec!["javascript", "data", "file", "JavaScript", "vbscript"]),
    ) {
        let with_fragment = format!("https://{host}/{path}#{tail}");
        prop_assert!(validate(&with_fragment).is_err());
        let with_userinfo = format!("https://user@{host}/{path}");
        prop_assert!(validate(&with_userinfo).is_err());
        let scripted = [scheme, ":", &path, &tail].concat();
        prop_assert!(validate(&scripted).is_err());
        let plain_http = format!("http://{host}/{path}");
        prop_assert!(validate(&plain_http).is_err());
    }

    /// Off loopback, only the identical string matches: any change to it does not.
    #[test]
    fn non_loopback_matching_is_exact(
        host in "[a-z]{1,12}\\.example",
        path in "/[a-z0-9]{1,20}",
        extra in "[a-zA-Z0-9/._~-]{1,8}",
        port in 1u16..,
    ) {
        let registered = format!("https://{host}{path}");
        prop_assert!(matches_registered(&registered, &registered));
        let variants = [
            format!("{registered}{extra}"),
            format!("https://{host}:{port}{path}"),
            format!("http://{host}{path}"),
            registered.to_uppercase(),
        ];
        for requested in variants {
            if requested != registered {
                prop_assert!(!matches_registered(&requested, &registered), "{} ~ {}", requested, registered);
            }
        }
    }

    /// On http loopback the port may differ, and nothing else may.
    #[test]
    fn loopback_matching_ignores_only_the_port(
        host in prop::sample::select(vec!["127.0.0.1", "[::1]", "localhost"]),
        path in "/[a-z0-9]{1,20}",
        registered_port in 1u16..,
        requested_port in 1u16..,
        extra in "[a-z0-9]{1,5}",
    ) {
        let registered = format!("http://{host}:{registered_port}{path}");
        let requested = format!("http://{host}:{requested_port}{path}");
        prop_assert!(matches_registered(&requested, &registered));
        let other_path = format!("http://{host}:{requested_port}{path}{extra}");
        prop_assert!(!matches_registered(&other_path, &registered));
        let with_query = format!("{requested}?{extra}");
        prop_assert!(!matches_registered(&with_query, &registered));
    }

    /// Verifiers of 43–128 unreserved characters parse and match their own S256 challenge only.
    #[test]
    fn verifiers_match_their_own_challenge(
        verifier in "[A-Za-z0-9._~-]{43,128}",
        other in "[A-Za-z0-9._~-]{43,128}",
    ) {
        let parsed = CodeVerifier::parse(&verifier).unwrap();
        let challenge = CodeChallenge::for_verifier(&parsed);
        prop_assert!(parsed.matches(challenge.as_str()));
        if other != verifier {
            prop_assert!(!CodeVerifier::parse(&other).unwrap().matches(challenge.as_str()));
        }
    }

    /// Too short, too long, or any character outside the unreserved set: refused.
    #[test]
    fn malformed_verifiers_are_refused(
        short in "[A-Za-z0-9]{0,42}",
        long in "[A-Za-z0-9]{129,200}",
        prefix in "[A-Za-z0-9]{43}",
        bad in "[ +/=!#$%&'()*,:;<>?@\\[\\]^`{|}\"\\\\]",
    ) {
        prop_assert!(CodeVerifier::parse(&short).is_err());
        prop_assert!(CodeVerifier::parse(&long).is_err());
        let with_bad = format!("{prefix}{bad}");
        prop_assert!(CodeVerifier::parse(&with_bad).is_err());
    }
}
