//! The configuration read from lookups: defaults, each setting's accepted and refused values.

use super::*;
use std::collections::HashMap;

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

const BASE: [(&str, &str); 2] = [
    (keys::ISSUER, "https://auth.example.com"),
    (keys::RESOURCE, "https://mcp.example.com/mcp"),
];

#[test]
fn defaults_to_sqlite_under_data_dir_with_pretty_logs() {
    let config = load(&BASE).unwrap();
    assert_eq!(
        config.store,
        StoreConfig::Sqlite {
            path: PathBuf::from(".data/state.db")
        }
    );
    assert_eq!(config.log_format, LogFormat::Pretty);
    assert_eq!(
        config.authorize_rate_limit,
        RateLimit {
            max: 120,
            window_secs: 300
        }
    );
    assert_eq!(
        config.protected_resource_metadata_url(),
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    );
}

#[test]
fn lambda_defaults_to_json_logs() {
    let mut pairs = BASE.to_vec();
    pairs.push((keys::LAMBDA_FUNCTION, "authz"));
    assert_eq!(load(&pairs).unwrap().log_format, LogFormat::Json);
}

#[test]
fn each_bad_setting_is_named() {
    let cases: &[(&str, &[(&str, &str)], &str)] = &[
        (
            "missing issuer",
            &[(keys::RESOURCE, "https://m/mcp")],
            keys::ISSUER,
        ),
        (
            "http issuer off loopback",
            &[
                (keys::ISSUER, "http://auth.example.com"),
                (keys::RESOURCE, "https://m/mcp"),
            ],
            keys::ISSUER,
        ),
        (
            "trailing slash",
            &[
                (keys::ISSUER, "https://auth.example.com/"),
                (keys::RESOURCE, "https://m/mcp"),
            ],
            keys::ISSUER,
        ),
        (
            "relative resource",
            &[(keys::ISSUER, "https://a"), (keys::RESOURCE, "/mcp")],
            keys::RESOURCE,
        ),
        (
            "resource with fragment",
            &[
                (keys::ISSUER, "https://a"),
                (keys::RESOURCE, "https://m/mcp#x"),
            ],
            keys::RESOURCE,
        ),
        (
            "unknown store",
            &[
                (keys::ISSUER, "https://a"),
                (keys::RESOURCE, "https://m/mcp"),
                (keys::STORE, "redis"),
            ],
            keys::STORE,
        ),
        (
            "dynamo without table",
            &[
                (keys::ISSUER, "https://a"),
                (keys::RESOURCE, "https://m/mcp"),
                (keys::STORE, "dynamodb"),
            ],
            keys::TABLE,
        ),
        (
            "bad table name",
            &[
                (keys::ISSUER, "https://a"),
                (keys::RESOURCE, "https://m/mcp"),
                (keys::STORE, "dynamodb"),
                (keys::TABLE, "no spaces allowed"),
            ],
            keys::TABLE,
        ),
        (
            "bad log format",
            &[
                (keys::ISSUER, "https://a"),
                (keys::RESOURCE, "https://m/mcp"),
                (keys::LOG_FORMAT, "xml"),
            ],
            keys::LOG_FORMAT,
        ),
    ];
    for (what, pairs, setting) in cases {
        let err = load(pairs).expect_err(what);
        assert_eq!(err.setting, *setting, "{what}");
        assert!(err.to_string().starts_with(setting), "{what}: {err}");
    }
}

#[test]
fn authz_settings_parse_and_are_bounded() {
    let mut pairs = BASE.to_vec();
    pairs.extend([
        (keys::ACCESS_TOKEN_TTL, "600"),
        (keys::SIGNING_KEY, "kms:alias/mcp-signing"),
        (keys::REGISTER_RATE_LIMIT, "10/60"),
        (keys::REGISTER_RATE_EXEMPT, "160.79.104.0/21, 2001:db8::1"),
        (keys::AUTHORIZE_RATE_LIMIT, "30/60"),
    ]);
    let config = load(&pairs).unwrap();
    assert_eq!(config.access_token_ttl, 600);
    assert_eq!(
        config.signing_key,
        SigningKeyConfig::Kms {
            key_id: "alias/mcp-signing".into(),
            previous: vec![]
        }
    );
    assert_eq!(
        config.register_rate_limit,
        RateLimit {
            max: 10,
            window_secs: 60
        }
    );
    assert_eq!(config.register_rate_exempt.len(), 2);
    assert_eq!(
        config.authorize_rate_limit,
        RateLimit {
            max: 30,
            window_secs: 60
        }
    );
    for (key, bad) in [
        (keys::ACCESS_TOKEN_TTL, "7200"),
        (keys::SIGNING_KEY, "kms:"),
        (keys::REGISTER_RATE_LIMIT, "10 per minute"),
        (keys::REGISTER_RATE_EXEMPT, "10.0.0.0/33"),
        (keys::AUTHORIZE_RATE_LIMIT, "120"),
        (keys::CLIENT_IDLE_DAYS, "0"),
    ] {
        let mut pairs = BASE.to_vec();
        pairs.push((key, bad));
        assert_eq!(load(&pairs).unwrap_err().setting, key, "{bad}");
    }
}

#[test]
fn previous_kms_signing_keys_parse_and_are_validated() {
    let mut pairs = BASE.to_vec();
    pairs.extend([
        (keys::SIGNING_KEY, "kms:alias/mcp-signing"),
        (
            keys::SIGNING_KEY_PREVIOUS,
            " kms:1234abcd-12ab-34cd-56ef-1234567890ab, kms:arn:aws:kms:us-east-1:111122223333:key/old ,",
        ),
    ]);
    assert_eq!(
        load(&pairs).unwrap().signing_key,
        SigningKeyConfig::Kms {
            key_id: "alias/mcp-signing".into(),
            previous: vec![
                "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
                "arn:aws:kms:us-east-1:111122223333:key/old".into()
            ]
        }
    );
    for (what, signing, previous) in [
        ("not kms:", "kms:new", "old-key"),
        ("empty id", "kms:new", "kms:"),
        ("the current key", "kms:new", "kms:old,kms:new"),
        ("twice", "kms:new", "kms:old,kms:old"),
        ("too many", "kms:new", "kms:a,kms:b,kms:c,kms:d,kms:e"),
        ("with a local key", "local", "kms:old"),
    ] {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            (keys::SIGNING_KEY, signing),
            (keys::SIGNING_KEY_PREVIOUS, previous),
        ]);
        assert_eq!(
            load(&pairs).unwrap_err().setting,
            keys::SIGNING_KEY_PREVIOUS,
            "{what}"
        );
    }
}

#[test]
fn loopback_http_is_allowed() {
    for issuer in [
        "http://127.0.0.1:8080",
        "http://localhost:9",
        "http://[::1]:8080",
    ] {
        let config = load(&[
            (keys::ISSUER, issuer),
            (keys::RESOURCE, "http://127.0.0.1:8080/mcp"),
        ]);
        assert!(config.is_ok(), "{issuer}");
    }
}

#[test]
fn login_cookie_key_and_grace_settings() {
    let config = load(&BASE).unwrap();
    assert!(matches!(config.login, LoginConfig::Embedded));
    assert!(config.cookie_key.is_none());
    assert_eq!(config.refresh_grace_secs, 60);

    let mut pairs = BASE.to_vec();
    pairs.extend([
        (keys::LOGIN, "cognito"),
        (keys::COGNITO_REGION, "eu-west-1"),
        (keys::COGNITO_USER_POOL_ID, "eu-west-1_AbC123"),
        (keys::COGNITO_DOMAIN, "https://login.example.com/"),
        (keys::COGNITO_CLIENT_ID, "client"),
        (keys::COGNITO_CLIENT_SECRET, "secret"),
        (
            keys::COOKIE_KEY,
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        ),
        (keys::REFRESH_GRACE, "0"),
    ]);
    let config = load(&pairs).unwrap();
    let LoginConfig::Cognito(cognito) = &config.login else {
        panic!("cognito expected");
    };
    assert_eq!(cognito.domain, "https://login.example.com");
    assert_eq!(
        cognito.discovery_url,
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/openid-configuration"
    );
    assert_eq!(
        cognito.pool_issuer(),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    );
    assert_eq!(format!("{:?}", cognito.client_secret), "[redacted]");
    assert!(config.cookie_key.is_some());
    assert_eq!(config.refresh_grace_secs, 0);
    // A discovery URL names the issuer to expect by its path: one without it is refused here,
    // not when the first user signs in.
    let mut elsewhere = pairs.clone();
    elsewhere.push((keys::COGNITO_DISCOVERY_URL, "https://idp.example.com/other"));
    assert_eq!(
        load(&elsewhere).unwrap_err().setting,
        keys::COGNITO_DISCOVERY_URL
    );
    let mut own = pairs.clone();
    own.push((
        keys::COGNITO_DISCOVERY_URL,
        "https://idp.example.com/pool/.well-known/openid-configuration",
    ));
    assert!(load(&own).is_ok());

    for (key, bad) in [
        (keys::LOGIN, "ldap"),
        (keys::COOKIE_KEY, "c2hvcnQ"),
        (keys::REFRESH_GRACE, "3600"),
    ] {
        let mut pairs = BASE.to_vec();
        pairs.push((key, bad));
        assert_eq!(load(&pairs).unwrap_err().setting, key, "{bad}");
    }
    let mut missing = BASE.to_vec();
    missing.extend([
        (keys::LOGIN, "cognito"),
        (keys::COGNITO_REGION, "eu-west-1"),
    ]);
    assert_eq!(
        load(&missing).unwrap_err().setting,
        keys::COGNITO_USER_POOL_ID
    );
    let mut wrong_pool = BASE.to_vec();
    wrong_pool.extend([
        (keys::LOGIN, "cognito"),
        (keys::COGNITO_REGION, "eu-west-1"),
        (keys::COGNITO_USER_POOL_ID, "us-east-1_X"),
    ]);
    assert_eq!(
        load(&wrong_pool).unwrap_err().setting,
        keys::COGNITO_USER_POOL_ID
    );
}

#[test]
fn metrics_namespace_defaults_and_is_checked() {
    assert_eq!(load(&BASE).unwrap().metrics_namespace, "ServerlessMcp");
    let mut pairs = BASE.to_vec();
    pairs.push((keys::METRICS_NAMESPACE, "ServerlessMcp/prod-stack"));
    assert_eq!(
        load(&pairs).unwrap().metrics_namespace,
        "ServerlessMcp/prod-stack"
    );
    for bad in [":aws", "a\"b", "x".repeat(256).as_str()] {
        let mut pairs = BASE.to_vec();
        pairs.push((keys::METRICS_NAMESPACE, bad));
        assert_eq!(load(&pairs).unwrap_err().setting, keys::METRICS_NAMESPACE);
    }
}

#[test]
fn cimd_test_ca_is_an_optional_path() {
    assert_eq!(load(&BASE).unwrap().cimd_test_ca, None);
    let mut pairs = BASE.to_vec();
    pairs.push((keys::CIMD_TEST_CA, "  "));
    assert_eq!(load(&pairs).unwrap().cimd_test_ca, None);
    let mut pairs = BASE.to_vec();
    pairs.push((keys::CIMD_TEST_CA, "/tmp/cimd-ca.pem"));
    assert_eq!(
        load(&pairs).unwrap().cimd_test_ca,
        Some(PathBuf::from("/tmp/cimd-ca.pem"))
    );
}

#[test]
fn dynamo_store_is_selected_by_name() {
    let mut pairs = BASE.to_vec();
    pairs.push((keys::STORE, "dynamodb"));
    pairs.push((keys::TABLE, "mcp-auth"));
    assert_eq!(
        load(&pairs).unwrap().store,
        StoreConfig::Dynamo {
            table: "mcp-auth".into()
        }
    );
}

#[test]
fn scopes_default_to_the_cost_explorer_servers_and_are_checked() {
    use crate::oauth::scope::ScopeCatalogue;
    assert_eq!(load(&BASE).unwrap().scopes, ScopeCatalogue::default());
    let with = |pairs: &[(&'static str, &'static str)]| {
        let mut all = BASE.to_vec();
        all.extend_from_slice(pairs);
        load(&all)
    };
    let config = with(&[
        (keys::SCOPES, "files:read,files:write"),
        (keys::SCOPE_DESCRIPTIONS, "files:write=change your files"),
    ])
    .unwrap();
    assert_eq!(config.scopes.values(), ["files:read", "files:write"]);
    assert_eq!(
        config.scopes.description("files:write"),
        "change your files"
    );
    // Blank counts as unset, like every setting.
    assert_eq!(
        with(&[(keys::SCOPES, "  ")]).unwrap().scopes,
        ScopeCatalogue::default()
    );
    assert_eq!(
        with(&[(keys::SCOPES, "a \"b\"")]).unwrap_err().setting,
        keys::SCOPES
    );
    assert_eq!(
        with(&[(keys::SCOPES, "a"), (keys::SCOPE_DESCRIPTIONS, "b=text")])
            .unwrap_err()
            .setting,
        keys::SCOPE_DESCRIPTIONS
    );
}
