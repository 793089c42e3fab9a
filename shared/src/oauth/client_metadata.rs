//! RFC 7591 §2 client metadata as stored for a registered client, and its validation: the rules
//! a registration request (RFC 7591 §2, §3.2.2) or a client ID metadata document must meet.
//!
//! Text a person reads (the consent and login pages, the admin CLI) comes from here, so every
//! string member is refused (`invalid_client_metadata`; `invalid_redirect_uri` for a redirect
//! URI) when it holds a character that can hide or reorder what is shown, or drive a terminal:
//! see [`is_hidden_or_control`]. Refused rather than stripped, so that what a client registered
//! is exactly what is stored and shown, and a registrant learns why.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client_values::{AuthMethod, GrantType};
use super::redirect_uri::{self, RedirectUri};
use super::scope::ScopeCatalogue;

/// Longest accepted free-text value (client_name, software_version, ...), in characters.
pub const MAX_TEXT: usize = 200;
/// Most contacts accepted.
pub const MAX_CONTACTS: usize = 10;
/// Longest accepted `scope` value, in characters.
pub const MAX_SCOPE: usize = 1024;
/// The token endpoint authentication methods a client may register.
pub const AUTH_METHODS: [&str; 3] = [
    AuthMethod::None.as_str(),
    AuthMethod::ClientSecretBasic.as_str(),
    AuthMethod::ClientSecretPost.as_str(),
];
/// The grant types a client may register.
pub const GRANT_TYPES: [&str; 2] = [
    GrantType::AuthorizationCode.as_str(),
    GrantType::RefreshToken.as_str(),
];

/// Why metadata was refused; the text is the `error_description`, the variant picks the RFC 7591
/// §3.2.2 error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// `invalid_redirect_uri`.
    #[error("{0}")]
    RedirectUri(String),
    /// `invalid_client_metadata`.
    #[error("{0}")]
    Invalid(String),
}

/// The client metadata the server keeps and returns (RFC 7591 §2, §3.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    pub redirect_uris: Vec<RedirectUri>,
    pub token_endpoint_auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    pub response_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
}

/// Whether `c` must never reach a page or a terminal from client-supplied text: control
/// characters (C0, DEL, C1, which include the ESC and CSI of terminal escape sequences),
/// bidirectional formatting (U+061C, U+200E/F, U+202A–U+202E embeddings and overrides,
/// U+2066–U+2069 isolates), zero-width and invisible formatting characters (U+200B–U+200D,
/// U+2060–U+2064, U+180E, U+FEFF), and the line/paragraph separators U+2028/U+2029.
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `text` without the characters of [`is_hidden_or_control`]: for showing text stored before
/// registration refused them.
pub fn displayable(text: &str) -> String {
    text.chars().filter(|c| !is_hidden_or_control(*c)).collect()
}

/// Validates RFC 7591 §2 metadata. Unknown members are ignored (§2); scope values this server
/// does not define are dropped, as RFC 7591 §2 allows the server to replace requested values.
pub fn validate(body: &Value, scopes: &ScopeCatalogue) -> Result<ClientMetadata, MetadataError> {
    let Value::Object(map) = body else {
        return Err(invalid("the registration request must be a JSON object"));
    };
    let redirect_uris = string_array(map, "redirect_uris")?.unwrap_or_default();
    if redirect_uris.is_empty() {
        return Err(MetadataError::RedirectUri(
            "redirect_uris must list at least one URI".into(),
        ));
    }
    if redirect_uris.len() > redirect_uri::MAX_COUNT {
        return Err(MetadataError::RedirectUri(format!(
            "at most {} redirect URIs may be registered",
            redirect_uri::MAX_COUNT
        )));
    }
    let redirect_uris = redirect_uris
        .iter()
        .map(|uri| RedirectUri::parse(uri))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| MetadataError::RedirectUri(e.to_string()))?;

    let token_endpoint_auth_method = match string(map, "token_endpoint_auth_method", 64)? {
        None => AuthMethod::default(),
        Some(name) => AuthMethod::parse(&name).ok_or_else(|| {
            invalid(format!(
                "token_endpoint_auth_method must be one of {}",
                AUTH_METHODS.join(", ")
            ))
        })?,
    };
    // Repeated values carry nothing and would let a small body store a long list: kept once.
    let grant_types = distinct(
        string_array(map, "grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]),
    );
    if let Some(other) = grant_types.iter().find(|g| GrantType::parse(g).is_none()) {
        return Err(invalid(format!(
            "grant type {:?} is not supported (authorization_code, refresh_token)",
            shown(other)
        )));
    }
    let grant_types: Vec<GrantType> = grant_types
        .iter()
        .filter_map(|g| GrantType::parse(g))
        .collect();
    if !grant_types.contains(&GrantType::AuthorizationCode) {
        return Err(invalid("grant_types must include authorization_code"));
    }
    let response_types =
        distinct(string_array(map, "response_types")?.unwrap_or_else(|| vec!["code".into()]));
    if response_types.iter().any(|r| r != "code") || response_types.is_empty() {
        return Err(invalid("response_types must be [\"code\"]"));
    }
    let application_type = string(map, "application_type", 16)?;
    if let Some(kind) = &application_type
        && kind != "web"
        && kind != "native"
    {
        return Err(invalid("application_type must be \"web\" or \"native\""));
    }
    let scope =
        string(map, "scope", MAX_SCOPE)?.and_then(|requested| scopes.registrable(&requested));
    let contacts = string_array(map, "contacts")?.unwrap_or_default();
    if contacts.len() > MAX_CONTACTS || contacts.iter().any(|c| c.chars().count() > MAX_TEXT) {
        return Err(invalid(format!(
            "contacts must be at most {MAX_CONTACTS} strings of at most {MAX_TEXT} characters"
        )));
    }
    if contacts.iter().any(|c| c.chars().any(is_hidden_or_control)) {
        return Err(hidden_characters("contacts"));
    }
    Ok(ClientMetadata {
        redirect_uris,
        token_endpoint_auth_method,
        grant_types,
        response_types,
        client_name: string(map, "client_name", MAX_TEXT)?,
        client_uri: web_uri(map, "client_uri")?,
        logo_uri: web_uri(map, "logo_uri")?,
        scope,
        contacts,
        tos_uri: web_uri(map, "tos_uri")?,
        policy_uri: web_uri(map, "policy_uri")?,
        software_id: string(map, "software_id", MAX_TEXT)?,
        software_version: string(map, "software_version", MAX_TEXT)?,
        application_type,
    })
}

/// `values` without repeats, in first-seen order.
fn distinct(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

fn invalid(description: impl Into<String>) -> MetadataError {
    MetadataError::Invalid(description.into())
}

fn hidden_characters(name: &str) -> MetadataError {
    invalid(format!(
        "{name} must not contain control, bidirectional-formatting or zero-width characters"
    ))
}

/// At most 64 characters of a value echoed in an error description.
fn shown(value: &str) -> String {
    value.chars().take(64).collect()
}

fn string(
    map: &Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<String>, MetadataError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(invalid(format!("{name} must be at most {max} characters")))
        }
        Some(Value::String(s)) if s.chars().any(is_hidden_or_control) => {
            Err(hidden_characters(name))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn string_array(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<String>>, MetadataError> {
    let wrong = || invalid(format!("{name} must be an array of strings"));
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(wrong()),
    }
}

/// A URI shown to users (client_uri, logo_uri, tos_uri, policy_uri): absolute https (http only
/// on loopback), at most 2 KiB.
fn web_uri(map: &Map<String, Value>, name: &str) -> Result<Option<String>, MetadataError> {
    let Some(raw) = string(map, name, redirect_uri::MAX_LEN)? else {
        return Ok(None);
    };
    let ok = url::Url::parse(&raw).is_ok_and(|u| {
        u.username().is_empty()
            && u.password().is_none()
            && (u.scheme() == "https" || (u.scheme() == "http" && redirect_uri::is_loopback(&u)))
    });
    if ok {
        Ok(Some(raw))
    } else {
        Err(invalid(format!("{name} must be an absolute https URL")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HIDDEN: [char; 22] = [
        '\u{0}', '\u{7}', '\u{1b}', '\n', '\u{7f}', '\u{9b}', '\u{61c}', '\u{200b}', '\u{200c}',
        '\u{200d}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}',
        '\u{202e}', '\u{2060}', '\u{2066}', '\u{2068}', '\u{2069}', '\u{feff}',
    ];

    fn base() -> Value {
        json!({"redirect_uris": ["https://app.example.com/cb"], "client_name": "App"})
    }

    #[test]
    fn hidden_and_control_characters_are_classified() {
        for c in HIDDEN {
            assert!(is_hidden_or_control(c), "{:?}", c);
        }
        for c in [
            'a',
            ' ',
            'é',
            '日',
            '\u{fe0f}',
            '\u{1f600}',
            '-',
            '\u{2010}',
        ] {
            assert!(!is_hidden_or_control(c), "{:?}", c);
        }
        assert_eq!(displayable("Ev\u{202e}il\u{1b}[0m\u{200b}"), "Evil[0m");
    }

    #[test]
    fn every_shown_member_refuses_hidden_and_control_characters() {
        for c in HIDDEN {
            for (member, value) in [
                ("client_name", json!(format!("Good{c}App"))),
                ("software_id", json!(format!("id{c}"))),
                ("software_version", json!(format!("1.0{c}"))),
                ("client_uri", json!(format!("https://app.example.com/{c}"))),
                (
                    "logo_uri",
                    json!(format!("https://app.example.com/l{c}.png")),
                ),
                ("tos_uri", json!(format!("https://app.example.com/tos{c}"))),
                ("policy_uri", json!(format!("https://app.example.com/p{c}"))),
                ("contacts", json!([format!("ops{c}@app.example.com")])),
            ] {
                let mut body = base();
                body[member] = value;
                assert!(
                    matches!(
                        validate(&body, &Default::default()),
                        Err(MetadataError::Invalid(_))
                    ),
                    "{member} with {c:?}"
                );
            }
            let mut body = base();
            body["redirect_uris"] = json!([format!("https://app.example.com/c{c}b")]);
            assert!(
                matches!(
                    validate(&body, &Default::default()),
                    Err(MetadataError::RedirectUri(_))
                ),
                "redirect_uris with {c:?}"
            );
        }
        let mut fine = base();
        fine["client_name"] = json!("Caf\u{e9} \u{65e5}\u{672c} \u{1f600}");
        fine["contacts"] = json!(["ops@app.example.com"]);
        assert!(validate(&fine, &Default::default()).is_ok());
    }

    #[test]
    fn registered_scope_keeps_what_the_deployment_offers() {
        let files = ScopeCatalogue::parse(Some("files:read files:write"), None).unwrap();
        let registered = |catalogue: &ScopeCatalogue, scope: &str| {
            let mut body = base();
            body["scope"] = json!(scope);
            validate(&body, catalogue).unwrap().scope
        };
        assert_eq!(
            registered(&files, "claudeai files:write costs:read").as_deref(),
            Some("files:write")
        );
        assert_eq!(registered(&files, "costs:read costs:resources"), None);
        assert_eq!(
            registered(&ScopeCatalogue::default(), "costs:read files:write").as_deref(),
            Some("costs:read")
        );
    }
}
