//! Property tests for the OAuth parsers and validators: redirect URI rules and matching, PKCE
//! verifiers, registration metadata and the refresh token format. Random inputs must never
//! panic, and the rules must hold for all of them.

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

/// Client metadata (RFC 7591 §2) and the refresh token format.
mod registration_and_refresh {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use crate::oauth::client_metadata::{
        AUTH_METHODS, ClientMetadata, GRANT_TYPES, MAX_CONTACTS, MAX_TEXT, MetadataError,
        is_hidden_or_control, validate,
    };
    use crate::oauth::client_values::GrantType;
    use crate::oauth::redirect_uri::{self, MAX_COUNT};
    use crate::oauth::refresh_token::{GRANT_ID_LEN, SECRET_LEN, grant_id_of, mint};
    use crate::oauth::scope;
    use crate::secret::Secret;

    /// About half of the generated requests are valid, so the properties about accepted
    /// metadata are not vacuous.
    #[test]
    fn the_generator_is_useful() {
        use proptest::strategy::ValueTree as _;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let accepted = (0..400)
            .filter(|_| {
                let body = metadata_json().new_tree(&mut runner).unwrap().current();
                validate(&body, &Default::default()).is_ok()
            })
            .count();
        assert!((80..=320).contains(&accepted), "{accepted} of 400 accepted");
    }

    /// Any JSON value, nested a few levels.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            ".{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,12}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn good_redirect() -> impl Strategy<Value = String> {
        prop_oneof![
            ("[a-z]{1,10}", "[a-z0-9/]{0,16}")
                .prop_map(|(h, p)| format!("https://{h}.example/{p}")),
            (
                prop::sample::select(vec!["127.0.0.1", "localhost", "[::1]"]),
                1u16..,
                "[a-z]{0,8}"
            )
                .prop_map(|(h, port, p)| format!("http://{h}:{port}/{p}")),
            "[a-z]{2,8}".prop_map(|s| format!("com.{s}.app:/cb")),
        ]
    }

    fn bad_redirect() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{1,10}".prop_map(|h| format!("https://{h}.example/cb#x")),
            "[a-z]{1,10}".prop_map(|h| format!("http://{h}.example/cb")),
            "[a-z]{1,10}".prop_map(|h| format!("https://u:p@{h}.example/cb")),
            Just("javascript:alert(1)".to_owned()),
            Just("data:text/html,x".to_owned()),
            Just("file:///etc/passwd".to_owned()),
            Just("/relative/cb".to_owned()),
            Just(String::new()),
        ]
    }

    /// A field's value: usually plausible, sometimes absent, null or of any shape.
    fn field<S: Strategy<Value = Value> + 'static>(likely: S) -> BoxedStrategy<Option<Value>> {
        prop_oneof![
            40 => likely.prop_map(Some),
            4 => Just(None),
            2 => Just(Some(Value::Null)),
            1 => any_json().prop_map(Some),
        ]
        .boxed()
    }

    /// Usually `good`, sometimes `bad`.
    fn mostly<T: std::fmt::Debug + 'static>(
        good: impl Strategy<Value = T> + 'static,
        bad: impl Strategy<Value = T> + 'static,
    ) -> BoxedStrategy<T> {
        prop_oneof![12 => good, 1 => bad].boxed()
    }

    fn strings<S: Strategy<Value = String> + 'static>(
        item: S,
        len: std::ops::Range<usize>,
    ) -> impl Strategy<Value = Value> {
        prop::collection::vec(item, len).prop_map(|v| json!(v))
    }

    fn pick(values: &[&'static str]) -> impl Strategy<Value = String> + 'static {
        prop::sample::select(values.to_vec()).prop_map(str::to_owned)
    }

    /// Registration requests near the boundary of what is accepted: each member is usually
    /// valid, so about half of the requests are accepted.
    fn metadata_json() -> impl Strategy<Value = Value> {
        let redirects = mostly(
            strings(good_redirect(), 1..MAX_COUNT + 1),
            prop_oneof![
                strings(
                    prop_oneof![3 => good_redirect(), 1 => bad_redirect()],
                    0..MAX_COUNT + 3
                ),
                Just(json!([])),
            ],
        );
        let auth = mostly(
            pick(&AUTH_METHODS),
            pick(&["private_key_jwt", "client_secret_jwt", "", "NONE"]),
        );
        let grants = mostly(
            prop_oneof![
                Just(json!(["authorization_code"])),
                Just(json!(["authorization_code", "refresh_token"])),
                Just(json!([
                    "refresh_token",
                    "authorization_code",
                    "refresh_token"
                ])),
            ],
            strings(
                pick(&[
                    "authorization_code",
                    "refresh_token",
                    "implicit",
                    "password",
                ]),
                0..4,
            ),
        );
        let responses = mostly(
            prop_oneof![Just(json!(["code"])), Just(json!(["code", "code"]))],
            strings(pick(&["code", "token", "id_token"]), 0..3),
        );
        // Shown text: no control, bidi-formatting or zero-width characters (refused).
        let text = || {
            mostly(
                "[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]{0,40}",
                prop_oneof![".{195,210}", "[a-z]{0,8}[\u{1b}\u{202e}\u{200b}][a-z]{0,8}"],
            )
        };
        let uri = || {
            mostly(
                good_redirect().prop_filter("https", |u| u.starts_with("http")),
                bad_redirect(),
            )
        };
        let scope = prop::collection::vec(
            pick(&["costs:read", "costs:resources", "openid", "x", ""]),
            0..4,
        )
        .prop_map(|v| json!(v.join(" ")));
        let contacts = mostly(
            strings("[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}]{0,40}", 0..MAX_CONTACTS + 1),
            strings(".{0,210}", 0..MAX_CONTACTS + 3),
        );
        let app = mostly(pick(&["web", "native"]), pick(&["service", "", "Web"]));
        (
            (
                field(redirects),
                field(auth.prop_map(Value::String)),
                field(grants),
                field(responses),
            ),
            (
                field(text().prop_map(Value::String)),
                field(uri().prop_map(Value::String)),
                field(uri().prop_map(Value::String)),
                field(scope),
                field(contacts),
                field(app.prop_map(Value::String)),
                field(text().prop_map(Value::String)),
            ),
        )
            .prop_map(|((r, a, g, rt), (name, cu, lu, sc, contacts, app, sv))| {
                let mut map = Map::new();
                for (key, value) in [
                    ("redirect_uris", r),
                    ("token_endpoint_auth_method", a),
                    ("grant_types", g),
                    ("response_types", rt),
                    ("client_name", name),
                    ("client_uri", cu),
                    ("logo_uri", lu),
                    ("scope", sc),
                    ("contacts", contacts),
                    ("application_type", app),
                    ("software_version", sv),
                ] {
                    if let Some(value) = value {
                        map.insert(key.into(), value);
                    }
                }
                Value::Object(map)
            })
    }

    /// What SECURITY.md and RFC 7591 require of every accepted registration.
    fn assert_invariants(m: &ClientMetadata) -> Result<(), TestCaseError> {
        prop_assert!(!m.redirect_uris.is_empty() && m.redirect_uris.len() <= MAX_COUNT);
        for uri in m.redirect_uris.iter().map(|u| u.as_str()) {
            prop_assert!(redirect_uri::validate(uri).is_ok());
            prop_assert!(!uri.contains('#'), "fragment in {}", uri);
            let url = url::Url::parse(uri).unwrap();
            prop_assert!(url.username().is_empty() && url.password().is_none());
            match url.scheme() {
                "https" => prop_assert!(url.host().is_some()),
                "http" => prop_assert!(redirect_uri::is_loopback(&url), "{}", uri),
                other => prop_assert!(
                    !["javascript", "data", "file", "vbscript", "blob", "about"].contains(&other)
                ),
            }
        }
        prop_assert!(AUTH_METHODS.contains(&m.token_endpoint_auth_method.as_str()));
        prop_assert!(
            m.grant_types
                .iter()
                .all(|g| GRANT_TYPES.contains(&g.as_str()))
        );
        prop_assert!(m.grant_types.contains(&GrantType::AuthorizationCode));
        prop_assert!(
            m.grant_types.len() <= GRANT_TYPES.len(),
            "{:?}",
            m.grant_types
        );
        prop_assert_eq!(&m.response_types, &vec!["code".to_owned()]);
        for text in [&m.client_name, &m.software_id, &m.software_version]
            .into_iter()
            .flatten()
        {
            prop_assert!(text.chars().count() <= MAX_TEXT);
        }
        for text in [&m.client_name, &m.software_id, &m.software_version]
            .into_iter()
            .flatten()
            .chain(&m.contacts)
        {
            prop_assert!(!text.chars().any(is_hidden_or_control), "{:?}", text);
        }
        for uri in &m.redirect_uris {
            prop_assert!(!uri.as_str().chars().any(is_hidden_or_control), "{:?}", uri);
        }
        prop_assert!(m.contacts.len() <= MAX_CONTACTS);
        prop_assert!(m.contacts.iter().all(|c| c.chars().count() <= MAX_TEXT));
        if let Some(scope) = &m.scope {
            prop_assert!(scope.split(' ').all(|s| scope::SUPPORTED.contains(&s)));
        }
        for uri in [&m.client_uri, &m.logo_uri, &m.tos_uri, &m.policy_uri]
            .into_iter()
            .flatten()
        {
            let url = url::Url::parse(uri).unwrap();
            prop_assert!(
                url.scheme() == "https"
                    || (url.scheme() == "http" && redirect_uri::is_loopback(&url))
            );
        }
        if let Some(kind) = &m.application_type {
            prop_assert!(kind == "web" || kind == "native");
        }
        Ok(())
    }

    /// One change that breaks a rule of an accepted registration.
    fn break_one(body: &mut Map<String, Value>, which: usize, uris: usize) {
        let long = "x".repeat(MAX_TEXT + 1);
        let (key, value) = match which % 16 {
            0 => {
                let mut list: Vec<Value> = vec![json!("https://ok.example/cb"); uris];
                list.push(json!("https://evil.example/cb#frag"));
                ("redirect_uris", json!(list))
            }
            1 => ("redirect_uris", json!(["http://evil.example/cb"])),
            2 => ("redirect_uris", json!(["javascript:alert(1)"])),
            3 => ("redirect_uris", json!(["https://user@evil.example/cb"])),
            4 => (
                "redirect_uris",
                json!(vec!["https://ok.example/cb"; MAX_COUNT + 1]),
            ),
            5 => ("redirect_uris", json!([])),
            6 => ("redirect_uris", json!("https://ok.example/cb")),
            7 => ("token_endpoint_auth_method", json!("private_key_jwt")),
            8 => ("grant_types", json!(["refresh_token"])),
            9 => ("grant_types", json!(["authorization_code", "implicit"])),
            10 => ("response_types", json!(["code", "token"])),
            11 => ("response_types", json!([])),
            12 => ("client_name", json!(long)),
            13 => ("contacts", json!(vec!["a@example.com"; MAX_CONTACTS + 1])),
            14 => ("client_uri", json!("javascript:alert(1)")),
            _ => ("application_type", json!("service")),
        };
        body.insert(key.into(), value);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Arbitrary JSON is accepted or refused with a description; nothing panics.
        #[test]
        fn metadata_validation_is_total(body in any_json()) {
            if let Err(MetadataError::Invalid(d) | MetadataError::RedirectUri(d)) = validate(&body, &Default::default()) {
                prop_assert!(!d.is_empty());
            }
        }

        /// Whatever is accepted meets every rule, and validating it again (as the stored JSON
        /// is returned to the client and may come back in an RFC 7592 update) changes nothing.
        #[test]
        fn accepted_metadata_meets_the_rules_and_round_trips(body in metadata_json()) {
            if let Ok(metadata) = validate(&body, &Default::default()) {
                assert_invariants(&metadata)?;
                let stored = serde_json::to_value(&metadata).unwrap();
                prop_assert_eq!(serde_json::from_value::<ClientMetadata>(stored.clone()).unwrap(), metadata.clone());
                prop_assert_eq!(validate(&stored, &Default::default()).unwrap(), metadata);
            }
        }

        /// Breaking any one rule of an accepted registration gets it refused.
        #[test]
        fn breaking_a_rule_is_refused(body in metadata_json(), which in 0usize..16, uris in 0usize..MAX_COUNT) {
            let Ok(metadata) = validate(&body, &Default::default()) else { return Ok(()) };
            let Value::Object(mut map) = serde_json::to_value(&metadata).unwrap() else {
                unreachable!("metadata serializes to an object")
            };
            break_one(&mut map, which, uris);
            let broken = Value::Object(map);
            prop_assert!(validate(&broken, &Default::default()).is_err(), "accepted {}", broken);
        }

        /// Minting then parsing gives back the grant id.
        #[test]
        fn refresh_tokens_name_their_grant(id in "[0-9a-f]{32}") {
            let token = mint(&id);
            prop_assert_eq!(token.expose().len(), GRANT_ID_LEN + 1 + SECRET_LEN);
            prop_assert_eq!(grant_id_of(&token), Some(id.as_str()));
        }

        /// Any one-character change, truncation or extension of a refresh token either names no
        /// grant, names another grant, or names the same grant with a different hash: never the
        /// grant's current token.
        #[test]
        fn changed_refresh_tokens_never_match(
            id in "[0-9a-f]{32}",
            position in 0usize..(GRANT_ID_LEN + 1 + SECRET_LEN),
            replacement in any::<char>(),
            cut in 0usize..(GRANT_ID_LEN + 1 + SECRET_LEN),
            extra in ".{1,4}",
        ) {
            let token = mint(&id);
            let stored_hash = token.hash();
            let raw = token.expose();
            let chars: Vec<char> = raw.chars().collect();
            let original = chars[position];
            prop_assume!(replacement != original);
            let mut changed = chars.clone();
            changed[position] = replacement;
            let changed = Secret::new(changed.into_iter().collect::<String>());
            match grant_id_of(&changed) {
                None => {}
                Some(other) if position < GRANT_ID_LEN => prop_assert_ne!(other, id.as_str()),
                Some(same) => {
                    prop_assert!(position > GRANT_ID_LEN, "the separator changed and parsed");
                    prop_assert_eq!(same, id.as_str());
                    prop_assert!(!changed.matches(&stored_hash));
                }
            }
            let truncated = Secret::new(raw.get(..cut).unwrap_or_default());
            prop_assert_eq!(grant_id_of(&truncated), None);
            let extended = Secret::new(format!("{raw}{extra}"));
            prop_assert_eq!(grant_id_of(&extended), None);
            let prefixed = Secret::new(format!("{extra}{raw}"));
            prop_assert_eq!(grant_id_of(&prefixed), None);
        }

        /// Parsing any text never panics, and a grant id only comes out of the exact shape.
        #[test]
        fn refresh_token_parsing_is_total(raw in ".{0,100}", id in "[0-9a-fA-F]{32}", secret in "[A-Za-z0-9_+/=.-]{43}") {
            if let Some(found) = grant_id_of(&Secret::new(raw.clone())) {
                prop_assert_eq!(raw.len(), GRANT_ID_LEN + 1 + SECRET_LEN);
                prop_assert!(raw.starts_with(found));
            }
            let shaped = Secret::new(format!("{id}.{secret}"));
            let well_formed = id.bytes().all(|b| !b.is_ascii_uppercase())
                && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            prop_assert_eq!(grant_id_of(&shaped).is_some(), well_formed);
        }
    }
}
