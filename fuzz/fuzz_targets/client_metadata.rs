//! Registration metadata validation (shared::oauth::client_metadata) on any JSON: whatever is
//! accepted meets the rules, and validating the stored form again gives the same metadata.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::oauth::client_metadata::{
    AUTH_METHODS, ClientMetadata, GRANT_TYPES, MAX_CONTACTS, MAX_TEXT, validate,
};
use shared::oauth::client_values::GrantType;
use shared::oauth::redirect_uri;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(metadata) = validate(&body, &Default::default()) else {
        return;
    };
    check(&metadata);
    let stored = serde_json::to_value(&metadata).expect("metadata serializes");
    assert_eq!(validate(&stored, &Default::default()).as_ref(), Ok(&metadata), "not idempotent");
    let read: ClientMetadata = serde_json::from_value(stored).expect("stored form reads back");
    assert_eq!(read, metadata);
});

fn check(m: &ClientMetadata) {
    assert!(!m.redirect_uris.is_empty() && m.redirect_uris.len() <= redirect_uri::MAX_COUNT);
    for uri in &m.redirect_uris {
        assert_eq!(redirect_uri::validate(uri.as_str()), Ok(()));
    }
    assert!(AUTH_METHODS.contains(&m.token_endpoint_auth_method.as_str()));
    assert!(
        m.grant_types
            .iter()
            .all(|g| GRANT_TYPES.contains(&g.as_str()))
    );
    assert!(m.grant_types.contains(&GrantType::AuthorizationCode));
    assert!(
        m.grant_types.len() <= GRANT_TYPES.len(),
        "{:?}",
        m.grant_types
    );
    assert_eq!(m.response_types, ["code"]);
    for text in [&m.client_name, &m.software_id, &m.software_version]
        .into_iter()
        .flatten()
    {
        assert!(text.chars().count() <= MAX_TEXT);
    }
    assert!(m.contacts.len() <= MAX_CONTACTS);
    assert!(m.contacts.iter().all(|c| c.chars().count() <= MAX_TEXT));
    for uri in [&m.client_uri, &m.logo_uri, &m.tos_uri, &m.policy_uri]
        .into_iter()
        .flatten()
    {
        let url = url::Url::parse(uri).expect("accepted URIs parse");
        assert!(
            url.scheme() == "https" || (url.scheme() == "http" && redirect_uri::is_loopback(&url)),
            "{uri:?}"
        );
    }
    if let Some(kind) = &m.application_type {
        assert!(kind == "web" || kind == "native");
    }
}
