//! The scopes this deployment defines (docs/architecture.md, "Policies") and the granted
//! [`Scope`]: the `scope` of an authorization request (RFC 6749 §3.3) resolved against what this
//! server supports and what the client registered. Values outside [`SUPPORTED`] are ignored;
//! nothing left means the registered scope, else [`COSTS_READ`]; a supported value the client did
//! not register for is refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Baseline: every read-only cost tool.
pub const COSTS_READ: &str = "costs:read";
/// Resource-level cost data (more sensitive, more expensive).
pub const COSTS_RESOURCES: &str = "costs:resources";
/// Every supported scope, advertised in metadata.
pub const SUPPORTED: [&str; 2] = [COSTS_READ, COSTS_RESOURCES];

/// A granted scope: supported values in canonical order, never empty. Stored and sent as the
/// space-separated string (RFC 6749 §3.3), exactly as before this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(Vec<&'static str>);

/// The request named a supported scope the client did not register for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the client is not registered for scope {0}")]
pub struct ScopeNotRegistered(pub &'static str);

impl Scope {
    /// Resolves the `scope` parameter of a request. `registered` is the client's registered
    /// `scope` metadata; a client that registered none may ask for any supported scope.
    pub fn resolve(
        requested: Option<&str>,
        registered: Option<&str>,
    ) -> Result<Self, ScopeNotRegistered> {
        let asked = supported_in(requested.unwrap_or(""));
        let allowed = registered.map(supported_in);
        if asked.is_empty() {
            return Ok(match allowed {
                Some(values) if !values.is_empty() => Self(values),
                _ => Self(vec![COSTS_READ]),
            });
        }
        if let Some(missing) = allowed
            .as_ref()
            .and_then(|allowed| asked.iter().find(|s| !allowed.contains(s)))
        {
            return Err(ScopeNotRegistered(missing));
        }
        Ok(Self(asked))
    }

    /// Parses a stored scope string (only supported values are kept).
    pub fn from_stored(stored: &str) -> Self {
        let values = supported_in(stored);
        if values.is_empty() {
            Self(vec![COSTS_READ])
        } else {
            Self(values)
        }
    }

    /// The subset of this scope that `requested` names (for a narrower refresh, RFC 6749 §6);
    /// `None` when it names a value outside this scope.
    pub fn narrow(&self, requested: &str) -> Option<Self> {
        let asked: Vec<&str> = requested.split_ascii_whitespace().collect();
        if asked.is_empty() {
            return Some(self.clone());
        }
        if asked.iter().any(|s| !self.0.contains(s)) {
            return None;
        }
        Some(Self(
            self.0
                .iter()
                .copied()
                .filter(|s| asked.contains(s))
                .collect(),
        ))
    }

    pub fn values(&self) -> &[&'static str] {
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

/// The supported values named in a space-separated list, deduplicated, in canonical order.
fn supported_in(list: &str) -> Vec<&'static str> {
    let named: Vec<&str> = list.split_ascii_whitespace().collect();
    SUPPORTED
        .iter()
        .copied()
        .filter(|s| named.contains(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_table() {
        let both = "costs:read costs:resources";
        let cases: &[(&str, Option<&str>, Option<&str>, Result<&str, &str>)] = &[
            ("absent, nothing registered", None, None, Ok(COSTS_READ)),
            ("absent, registered both", None, Some(both), Ok(both)),
            (
                "unknown values ignored",
                Some("claudeai openid"),
                Some(both),
                Ok(both),
            ),
            (
                "unknown ignored, nothing registered",
                Some("claudeai"),
                None,
                Ok(COSTS_READ),
            ),
            (
                "mixed keeps supported",
                Some("claudeai costs:read"),
                Some(both),
                Ok(COSTS_READ),
            ),
            (
                "canonical order, dedup",
                Some("costs:resources costs:read costs:read"),
                None,
                Ok(both),
            ),
            (
                "unregistered supported scope",
                Some(both),
                Some(COSTS_READ),
                Err(COSTS_RESOURCES),
            ),
            (
                "registered only unknown values",
                None,
                Some("claudeai"),
                Ok(COSTS_READ),
            ),
        ];
        for (what, requested, registered, want) in cases {
            let got = Scope::resolve(*requested, *registered);
            match want {
                Ok(scope) => assert_eq!(got.unwrap().to_scope_string(), *scope, "{what}"),
                Err(missing) => assert_eq!(got.unwrap_err().0, *missing, "{what}"),
            }
        }
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
    fn stored_as_the_space_separated_string() {
        let both = Scope::from_stored("costs:read costs:resources");
        let json = serde_json::to_value(&both).unwrap();
        assert_eq!(json, serde_json::json!("costs:read costs:resources"));
        assert_eq!(serde_json::from_value::<Scope>(json).unwrap(), both);
        assert_eq!(both.to_string(), "costs:read costs:resources");
    }
}
