//! How single settings are read: bounded integers, rates, URLs (https, or http on loopback),
//! the previous KMS keys, DynamoDB table names and the scopes, each refusal naming the setting.

use std::net::IpAddr;

use url::Url;

use super::{ConfigError, RateLimit, keys};
use crate::oauth::scope::{CatalogueError, ScopeCatalogue};

/// An integer setting within bounds, or its default when unset.
pub(super) fn int_in(
    get: &impl Fn(&str) -> Option<String>,
    key: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    match get(key) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(ConfigError::new(
                key,
                format!("{raw:?} is not a whole number from {min} to {max}"),
            )),
        },
    }
}

/// The previous KMS keys: `kms:<id>` entries, comma-separated, none empty, repeated or equal to
/// the current key. At most [`MAX_PREVIOUS_SIGNING_KEYS`], each read at start-up.
pub(super) fn parse_previous_kms_keys(
    get: &impl Fn(&str) -> Option<String>,
    current: &str,
) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = get(keys::SIGNING_KEY_PREVIOUS) else {
        return Ok(Vec::new());
    };
    let mut previous: Vec<String> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let key_id = match entry.strip_prefix("kms:") {
            Some(id) if !id.is_empty() && !id.contains(char::is_whitespace) => id,
            _ => {
                return Err(ConfigError::new(
                    keys::SIGNING_KEY_PREVIOUS,
                    format!("{entry:?} is not \"kms:<key id, ARN or alias>\""),
                ));
            }
        };
        if key_id == current {
            return Err(ConfigError::new(
                keys::SIGNING_KEY_PREVIOUS,
                format!("{entry:?} is the current signing key"),
            ));
        }
        if previous.iter().any(|p| p == key_id) {
            return Err(ConfigError::new(
                keys::SIGNING_KEY_PREVIOUS,
                format!("{entry:?} is listed twice"),
            ));
        }
        previous.push(key_id.to_owned());
    }
    if previous.len() > MAX_PREVIOUS_SIGNING_KEYS {
        return Err(ConfigError::new(
            keys::SIGNING_KEY_PREVIOUS,
            format!("at most {MAX_PREVIOUS_SIGNING_KEYS} keys (each is read at start-up)"),
        ));
    }
    Ok(previous)
}

/// How many previous KMS signing keys may be published at once.
pub const MAX_PREVIOUS_SIGNING_KEYS: usize = 4;

pub(super) fn parse_rate(raw: &str) -> Option<RateLimit> {
    let (max, window) = raw.split_once('/')?;
    let max = max.trim().parse().ok()?;
    let window_secs = window.trim().parse().ok().filter(|w| *w > 0)?;
    Some(RateLimit { max, window_secs })
}

/// Whether an http URL is allowed for this host: loopback only.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

pub(super) fn parse_absolute(setting: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw)
        .map_err(|_| ConfigError::new(setting, format!("{raw:?} is not an absolute URL")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(ConfigError::new(
                setting,
                format!("{raw:?} uses http on a non-loopback host (https required)"),
            ));
        }
        _ => {
            return Err(ConfigError::new(
                setting,
                format!("{raw:?} must be an https URL"),
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            setting,
            format!("{raw:?} must not have a query or fragment"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            setting,
            format!("{raw:?} must not contain user information"),
        ));
    }
    Ok(url)
}

pub(super) fn parse_issuer(raw: &str) -> Result<String, ConfigError> {
    parse_absolute(keys::ISSUER, raw)?;
    if raw.ends_with('/') {
        return Err(ConfigError::new(
            keys::ISSUER,
            format!("{raw:?} must not end with a slash"),
        ));
    }
    Ok(raw.to_owned())
}

pub(super) fn parse_resource(raw: &str) -> Result<String, ConfigError> {
    parse_absolute(keys::RESOURCE, raw)?;
    Ok(raw.to_owned())
}

pub(super) fn validate_table_name(name: &str) -> Result<(), ConfigError> {
    let ok = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            keys::TABLE,
            format!("{name:?} is not a valid DynamoDB table name"),
        ))
    }
}

/// `SMCP_SCOPES` and `SMCP_SCOPE_DESCRIPTIONS` ([`ScopeCatalogue::parse`]).
pub(super) fn parse_scopes(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ScopeCatalogue, ConfigError> {
    ScopeCatalogue::parse(
        get(keys::SCOPES).as_deref(),
        get(keys::SCOPE_DESCRIPTIONS).as_deref(),
    )
    .map_err(|e| match e {
        CatalogueError::Values(problem) => ConfigError::new(keys::SCOPES, problem),
        CatalogueError::Descriptions(problem) => {
            ConfigError::new(keys::SCOPE_DESCRIPTIONS, problem)
        }
    })
}
