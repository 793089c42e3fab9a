//! The scopes this deployment defines (`SMCP_SCOPES`, docs/architecture.md, "Policies"): the
//! [`ScopeCatalogue`], read once at start-up, and the granted [`Scope`]: the `scope` of an
//! authorization request (RFC 6749 §3.3) resolved against the catalogue and what the client
//! registered. Values outside the catalogue are ignored; nothing left means the registered scope,
//! else the catalogue's baseline (its first value); a value the client did not register for is
//! refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The Cost Explorer server's baseline: every read-only cost tool.
pub const COSTS_READ: &str = "costs:read";
/// Resource-level cost data (more sensitive, more expensive).
pub const COSTS_RESOURCES: &str = "costs:resources";
/// The default catalogue's values (`SMCP_SCOPES` unset): the Cost Explorer server's scopes.
pub const SUPPORTED: [&str; 2] = [COSTS_READ, COSTS_RESOURCES];
/// The consent page's words for the default scopes, used wherever they are listed and
/// `SMCP_SCOPE_DESCRIPTIONS` does not describe them.
const DEFAULT_DESCRIPTIONS: [(&str, &str); 2] = [
    (COSTS_READ, "read your AWS cost and usage data"),
    (COSTS_RESOURCES, "read resource-level cost data"),
];
/// At most this many scopes may be configured.
pub const MAX_SCOPES: usize = 32;
/// A configured scope is at most this long (bytes).
pub const MAX_SCOPE_LEN: usize = 128;
/// A configured description is at most this long (characters).
pub const MAX_DESCRIPTION_LEN: usize = 200;

/// The scopes this deployment offers, in canonical order, the first being the baseline granted
/// when a request names none; each with the consent page's description ("" for none). Never
/// empty; built by [`ScopeCatalogue::parse`] (the settings) or [`Default`] (the Cost Explorer
/// server's two scopes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalogue {
    values: Vec<String>,
    descriptions: Vec<String>,
}

/// Which setting a [`ScopeCatalogue::parse`] refusal is about, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogueError {
    /// The scope list (`SMCP_SCOPES`).
    Values(String),
    /// The descriptions (`SMCP_SCOPE_DESCRIPTIONS`).
    Descriptions(String),
}

impl Default for ScopeCatalogue {
    fn default() -> Self {
        Self {
            values: SUPPORTED.map(str::to_owned).to_vec(),
            descriptions: SUPPORTED
                .map(default_description)
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

fn default_description(scope: &str) -> &'static str {
    DEFAULT_DESCRIPTIONS
        .iter()
        .find(|(name, _)| *name == scope)
        .map_or("", |(_, description)| description)
}

/// Whether `c` may appear in a configured scope: RFC 6749 §3.3 `NQCHAR` (`%x21 / %x23-5B /
/// %x5D-7E`) except the separators of the settings (`,` between scopes, `;` and `=` in the
/// descriptions).
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E') && !matches!(c, ',' | ';' | '=')
}

impl ScopeCatalogue {
    /// Reads the settings: `values`, scopes separated by spaces or commas (the first is the
    /// baseline; unset: the default catalogue), and `descriptions`, `scope=text` entries
    /// separated by `;`, each naming a listed scope. Scopes without a description keep the
    /// default one when they are the Cost Explorer server's, else show none.
    pub fn parse(values: Option<&str>, descriptions: Option<&str>) -> Result<Self, CatalogueError> {
        let values: Vec<String> = match values {
            None => SUPPORTED.map(str::to_owned).to_vec(),
            Some(raw) => parse_values(raw).map_err(CatalogueError::Values)?,
        };
        let mut described: Vec<String> = values
            .iter()
            .map(|s| default_description(s).to_owned())
            .collect();
        let mut seen: Vec<&str> = Vec::new();
        for entry in descriptions
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let problem = |p: String| CatalogueError::Descriptions(p);
            let (scope, text) = entry
                .split_once('=')
                .map(|(s, t)| (s.trim(), t.trim()))
                .ok_or_else(|| problem(format!("{entry:?} is not scope=description")))?;
            let index = values
                .iter()
                .position(|v| v == scope)
                .ok_or_else(|| problem(format!("{scope:?} is not one of the configured scopes")))?;
            if seen.contains(&scope) {
                return Err(problem(format!("{scope:?} is described twice")));
            }
            seen.push(scope);
            if text.is_empty()
                || text.chars().count() > MAX_DESCRIPTION_LEN
                || text
                    .chars()
                    .any(crate::oauth::client_metadata::is_hidden_or_control)
            {
                return Err(problem(format!(
                    "the description of {scope:?} must be 1 to {MAX_DESCRIPTION_LEN} characters \
                     without control or invisible characters"
                )));
            }
            if let Some(slot) = described.get_mut(index) {
                *slot = text.to_owned();
            }
        }
        Ok(Self {
            values,
            descriptions: described,
        })
    }

    /// Every scope offered, baseline first: the metadata's `scopes_supported`.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The scope granted when a request and the client's registration name none.
    pub fn baseline(&self) -> &str {
        self.values.first().map_or(COSTS_READ, String::as_str)
    }

    /// Whether `scope` is offered.
    pub fn contains(&self, scope: &str) -> bool {
        self.values.iter().any(|v| v == scope)
    }

    /// The consent page's words for `scope` ("" when it has none or is not offered).
    pub fn description(&self, scope: &str) -> &str {
        self.values
            .iter()
            .position(|v| v == scope)
            .and_then(|i| self.descriptions.get(i))
            .map_or("", String::as_str)
    }

    /// Resolves the `scope` parameter of a request. `registered` is the client's registered
    /// `scope` metadata; a client that registered none may ask for any offered scope.
    pub fn resolve(
        &self,
        requested: Option<&str>,
        registered: Option<&str>,
    ) -> Result<Scope, ScopeNotRegistered> {
        let asked = self.offered_in(requested.unwrap_or(""));
        let allowed = registered.map(|r| self.offered_in(r));
        if asked.is_empty() {
            return Ok(match allowed {
                Some(values) if !values.is_empty() => Scope(values),
                _ => Scope(vec![self.baseline().to_owned()]),
            });
        }
        if let Some(missing) = allowed
            .as_ref()
            .and_then(|allowed| asked.iter().find(|s| !allowed.contains(s)))
        {
            return Err(ScopeNotRegistered(missing.clone()));
        }
        Ok(Scope(asked))
    }

    /// The part of a stored grant's `scope` still offered (a scope removed from the settings is
    /// no longer issued on refresh); `None` when nothing is left.
    pub fn still_offered(&self, scope: &Scope) -> Option<Scope> {
        let kept: Vec<String> = scope
            .0
            .iter()
            .filter(|s| self.contains(s))
            .cloned()
            .collect();
        (!kept.is_empty()).then_some(Scope(kept))
    }

    /// A client's registered `scope` (RFC 7591 §2) reduced to the offered values, in the order
    /// given; `None` when none is offered (the server may replace requested values).
    pub fn registrable(&self, requested: &str) -> Option<String> {
        let kept: Vec<&str> = requested.split(' ').filter(|s| self.contains(s)).collect();
        (!kept.is_empty()).then(|| kept.join(" "))
    }

    /// The offered values named in a space-separated list, deduplicated, in canonical order.
    fn offered_in(&self, list: &str) -> Vec<String> {
        let named: Vec<&str> = list.split_ascii_whitespace().collect();
        self.values
            .iter()
            .filter(|s| named.contains(&s.as_str()))
            .cloned()
            .collect()
    }
}

fn parse_values(raw: &str) -> Result<Vec<String>, String> {
    let mut values: Vec<String> = Vec::new();
    for value in raw
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|v| !v.is_empty())
    {
        if value.len() > MAX_SCOPE_LEN || !value.chars().all(is_scope_char) {
            return Err(format!(
                "{value:?} is not a scope: at most {MAX_SCOPE_LEN} printable ASCII characters \
                 other than \" \\ , ; = (RFC 6749 §3.3)"
            ));
        }
        if values.iter().any(|v| v == value) {
            return Err(format!("{value:?} is listed twice"));
        }
        values.push(value.to_owned());
    }
    if values.is_empty() {
        return Err("lists no scope (name at least one, the baseline first)".into());
    }
    if values.len() > MAX_SCOPES {
        return Err(format!("at most {MAX_SCOPES} scopes"));
    }
    Ok(values)
}

/// A granted scope: offered values in canonical order, never empty when resolved. Stored and
/// sent as the space-separated string (RFC 6749 §3.3), exactly as before this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(Vec<String>);

/// The request named an offered scope the client did not register for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the client is not registered for scope {0}")]
pub struct ScopeNotRegistered(pub String);

impl Scope {
    /// Parses a stored scope string: its values as stored, in order, duplicates dropped. Which
    /// values are offered is the catalogue's business ([`ScopeCatalogue::still_offered`]).
    pub fn from_stored(stored: &str) -> Self {
        let mut values: Vec<String> = Vec::new();
        for value in stored.split_ascii_whitespace() {
            if !values.iter().any(|v| v == value) {
                values.push(value.to_owned());
            }
        }
        Self(values)
    }

    /// The subset of this scope that `requested` names (for a narrower refresh, RFC 6749 §6);
    /// `None` when it names a value outside this scope.
    pub fn narrow(&self, requested: &str) -> Option<Self> {
        let asked: Vec<&str> = requested.split_ascii_whitespace().collect();
        if asked.is_empty() {
            return Some(self.clone());
        }
        if asked.iter().any(|s| !self.0.iter().any(|v| v == s)) {
            return None;
        }
        Some(Self(
            self.0
                .iter()
                .filter(|s| asked.contains(&s.as_str()))
                .cloned()
                .collect(),
        ))
    }

    pub fn values(&self) -> &[String] {
        &self.0
    }

    /// Space-separated, in canonical order.
    pub fn to_scope_string(&self) -> String {
        self.0.join(" ")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_scope_string())
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_scope_string())
    }
}

impl<'de> Deserialize<'de> for Scope {
    /// Reads the stored string as [`Scope::from_stored`] does.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = String::deserialize(deserializer)?;
        Ok(Self::from_stored(&stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> ScopeCatalogue {
        ScopeCatalogue::parse(
            Some("files:read, files:write  admin"),
            Some("files:read = read your files; admin=run the place"),
        )
        .unwrap()
    }

    #[test]
    fn resolution_table() {
        let costs = ScopeCatalogue::default();
        let files = files();
        let both = "costs:read costs:resources";
        let cases: &[(
            &str,
            &ScopeCatalogue,
            Option<&str>,
            Option<&str>,
            Result<&str, &str>,
        )] = &[
            (
                "absent, nothing registered",
                &costs,
                None,
                None,
                Ok(COSTS_READ),
            ),
            (
                "absent, registered both",
                &costs,
                None,
                Some(both),
                Ok(both),
            ),
            (
                "unknown values ignored",
                &costs,
                Some("claudeai openid"),
                Some(both),
                Ok(both),
            ),
            (
                "unknown ignored, nothing registered",
                &costs,
                Some("claudeai"),
                None,
                Ok(COSTS_READ),
            ),
            (
                "mixed keeps supported",
                &costs,
                Some("claudeai costs:read"),
                Some(both),
                Ok(COSTS_READ),
            ),
            (
                "canonical order, dedup",
                &costs,
                Some("costs:resources costs:read costs:read"),
                None,
                Ok(both),
            ),
            (
                "unregistered supported scope",
                &costs,
                Some(both),
                Some(COSTS_READ),
                Err(COSTS_RESOURCES),
            ),
            (
                "registered only unknown values",
                &costs,
                None,
                Some("claudeai"),
                Ok(COSTS_READ),
            ),
            (
                "configured: the first is the baseline",
                &files,
                None,
                None,
                Ok("files:read"),
            ),
            (
                "configured: the default scopes are unknown",
                &files,
                Some(both),
                None,
                Ok("files:read"),
            ),
            (
                "configured: canonical order is the setting's",
                &files,
                Some("admin files:read"),
                None,
                Ok("files:read admin"),
            ),
            (
                "configured: unregistered",
                &files,
                Some("files:write"),
                Some("files:read"),
                Err("files:write"),
            ),
        ];
        for (what, catalogue, requested, registered, want) in cases {
            let got = catalogue.resolve(*requested, *registered);
            match want {
                Ok(scope) => assert_eq!(got.unwrap().to_scope_string(), *scope, "{what}"),
                Err(missing) => assert_eq!(got.unwrap_err().0, *missing, "{what}"),
            }
        }
    }

    #[test]
    fn the_settings_are_read() {
        assert_eq!(
            ScopeCatalogue::parse(None, None).unwrap(),
            ScopeCatalogue::default()
        );
        let costs = ScopeCatalogue::default();
        assert_eq!(costs.values(), SUPPORTED);
        assert_eq!(costs.baseline(), COSTS_READ);
        assert_eq!(
            costs.description(COSTS_READ),
            "read your AWS cost and usage data"
        );
        assert_eq!(
            costs.description(COSTS_RESOURCES),
            "read resource-level cost data"
        );
        let files = files();
        assert_eq!(files.values(), ["files:read", "files:write", "admin"]);
        assert_eq!(files.baseline(), "files:read");
        assert_eq!(files.description("files:read"), "read your files");
        assert_eq!(files.description("files:write"), "");
        assert_eq!(files.description("admin"), "run the place");
        assert_eq!(files.description("costs:read"), "");
        assert!(files.contains("admin") && !files.contains(COSTS_READ));
        // The Cost Explorer scopes keep their words when listed, unless described otherwise.
        let mixed = ScopeCatalogue::parse(Some("costs:resources x"), None).unwrap();
        assert_eq!(mixed.baseline(), COSTS_RESOURCES);
        assert_eq!(
            mixed.description(COSTS_RESOURCES),
            "read resource-level cost data"
        );
        let renamed =
            ScopeCatalogue::parse(None, Some("costs:read=see what AWS costs you")).unwrap();
        assert_eq!(renamed.description(COSTS_READ), "see what AWS costs you");
        assert_eq!(
            renamed.description(COSTS_RESOURCES),
            "read resource-level cost data"
        );
        // Every RFC 6749 scope-token character but the separators is accepted.
        let odd = ScopeCatalogue::parse(Some("a!#$%&'()*+-./:<>?@[]^_`{|}~"), None).unwrap();
        assert_eq!(odd.values(), ["a!#$%&'()*+-./:<>?@[]^_`{|}~"]);
    }

    #[test]
    fn bad_settings_are_refused() {
        let values = |raw: &str| match ScopeCatalogue::parse(Some(raw), None) {
            Err(CatalogueError::Values(problem)) => problem,
            other => panic!("{raw:?}: {other:?}"),
        };
        assert!(values(" , ").contains("lists no scope"));
        assert!(values("a a").contains("listed twice"));
        assert!(values("a\"b").contains("RFC 6749"));
        assert!(values("a\\b").contains("RFC 6749"));
        assert!(values("a;b").contains("RFC 6749"));
        assert!(values("a=b").contains("RFC 6749"));
        assert!(values("caf\u{e9}").contains("RFC 6749"));
        assert!(values(&"s".repeat(MAX_SCOPE_LEN + 1)).contains("RFC 6749"));
        assert!(ScopeCatalogue::parse(Some(&"s".repeat(MAX_SCOPE_LEN)), None).is_ok());
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        assert!(values(&many.join(" ")).contains("at most"));
        assert!(ScopeCatalogue::parse(Some(&many[1..].join(" ")), None).is_ok());

        let described = |raw: &str| match ScopeCatalogue::parse(Some("a b"), Some(raw)) {
            Err(CatalogueError::Descriptions(problem)) => problem,
            other => panic!("{raw:?}: {other:?}"),
        };
        assert!(described("a").contains("not scope=description"));
        assert!(described("c=text").contains("not one of the configured scopes"));
        assert!(described("a=one;a=two").contains("described twice"));
        assert!(described("a=").contains("1 to"));
        assert!(described("a=bad\u{202e}text").contains("1 to"));
        assert!(described(&format!("a={}", "x".repeat(MAX_DESCRIPTION_LEN + 1))).contains("1 to"));
        let longest = format!("a={}", "x".repeat(MAX_DESCRIPTION_LEN));
        assert!(ScopeCatalogue::parse(Some("a b"), Some(&longest)).is_ok());
    }

    #[test]
    fn narrowing() {
        let granted = Scope::from_stored("costs:read costs:resources");
        assert_eq!(
            granted.narrow("costs:read").unwrap().to_scope_string(),
            COSTS_READ
        );
        assert_eq!(granted.narrow("").unwrap(), granted);
        let read = Scope::from_stored(COSTS_READ);
        assert_eq!(read.narrow(COSTS_RESOURCES), None);
    }

    #[test]
    fn what_is_no_longer_offered_is_dropped() {
        let granted = Scope::from_stored("files:read admin");
        assert_eq!(files().still_offered(&granted), Some(granted.clone()));
        let fewer = ScopeCatalogue::parse(Some("files:read"), None).unwrap();
        assert_eq!(
            fewer.still_offered(&granted).unwrap().to_scope_string(),
            "files:read"
        );
        assert_eq!(ScopeCatalogue::default().still_offered(&granted), None);
    }

    #[test]
    fn registration_keeps_offered_values() {
        let files = files();
        assert_eq!(
            files.registrable("admin claudeai files:read").as_deref(),
            Some("admin files:read")
        );
        assert_eq!(files.registrable("costs:read"), None);
        assert_eq!(
            ScopeCatalogue::default()
                .registrable("costs:read")
                .as_deref(),
            Some(COSTS_READ)
        );
    }

    #[test]
    fn stored_as_the_space_separated_string() {
        let both = Scope::from_stored("costs:read costs:resources");
        let json = serde_json::to_value(&both).unwrap();
        assert_eq!(json, serde_json::json!("costs:read costs:resources"));
        assert_eq!(serde_json::from_value::<Scope>(json).unwrap(), both);
        assert_eq!(both.to_string(), "costs:read costs:resources");
        // Whatever the catalogue, a stored scope reads and writes back as it was stored.
        for stored in ["files:read admin", "costs:resources costs:read", "x"] {
            let json = serde_json::json!(stored);
            let read: Scope = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(serde_json::to_value(&read).unwrap(), json);
        }
        assert_eq!(Scope::from_stored("a b a").to_scope_string(), "a b");
    }
}
