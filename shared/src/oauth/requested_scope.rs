//! The scope of an authorization request (RFC 6749 §3.3) resolved against what this server supports
//! and what the client registered: values outside [`SUPPORTED`] are ignored; nothing left means the
//! registered scope, else [`COSTS_READ`]; a supported value the client did not register for is
//! refused.

use super::scope::{COSTS_READ, SUPPORTED};

/// A set of supported scope values in canonical order, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedScope(Vec<&'static str>);

/// The request named a supported scope the client did not register for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the client is not registered for scope {0}")]
pub struct ScopeNotRegistered(pub &'static str);

impl GrantedScope {
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
    use crate::oauth::scope::COSTS_RESOURCES;

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
            let got = GrantedScope::resolve(*requested, *registered);
            match want {
                Ok(scope) => assert_eq!(got.unwrap().to_scope_string(), *scope, "{what}"),
                Err(missing) => assert_eq!(got.unwrap_err().0, *missing, "{what}"),
            }
        }
    }

    #[test]
    fn narrowing() {
        let granted = GrantedScope::from_stored("costs:read costs:resources");
        assert_eq!(
            granted.narrow("costs:read").unwrap().to_scope_string(),
            COSTS_READ
        );
        assert_eq!(granted.narrow("").unwrap(), granted);
        let read = GrantedScope::from_stored(COSTS_READ);
        assert_eq!(read.narrow(COSTS_RESOURCES), None);
    }
}
