//! Who is calling and which linked accounts they may see (per-user visibility, SECURITY.md): the
//! verified token's claims, and the configured mapping of upstream groups to linked account ids. A
//! user limited to some accounts gets a LINKED_ACCOUNT filter ANDed into every call; a filter
//! naming any other account is refused.

use std::collections::{BTreeMap, BTreeSet};

use crate::cost::{Dimension, Expression};

/// The authenticated user, put into request extensions by the bearer layer ([`mcp_host`]).
#[cfg(feature = "server")]
pub use mcp_host::Caller;

/// Upstream group → linked account ids; `"*"` in a list means every account, and the group
/// `"*"` means every signed-in user. A user in no listed group sees nothing, so the empty
/// mapping (the default) lets nobody see any cost data; [`AccountScopes::everyone`]
/// (`{"*":["*"]}`) lets every signed-in user see the whole organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountScopes(BTreeMap<String, BTreeSet<String>>);

/// The group name that matches every signed-in user, whatever their groups.
pub const EVERY_USER: &str = "*";

impl AccountScopes {
    /// `{"*":["*"]}`: every signed-in user sees every linked account.
    pub fn everyone() -> Self {
        Self::from_pairs([(EVERY_USER, &["*"][..])])
    }

    /// Parses `{"group": ["111111111111", …], …}`; account ids are 12 digits or `*`.
    pub fn parse_json(text: &str) -> Result<Self, String> {
        let map: BTreeMap<String, Vec<String>> = serde_json::from_str(text).map_err(|_| {
            "must be a JSON object mapping group names to lists of account ids".to_owned()
        })?;
        for (group, accounts) in &map {
            if let Some(bad) = accounts
                .iter()
                .find(|a| *a != "*" && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())))
            {
                return Err(format!(
                    "group {group:?}: {bad:?} is not a 12-digit account id or \"*\""
                ));
            }
        }
        Ok(Self(
            map.into_iter()
                .map(|(g, a)| (g, a.into_iter().collect()))
                .collect(),
        ))
    }

    fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [&'a str])>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(g, a)| (g.to_owned(), a.iter().map(|s| (*s).to_owned()).collect()))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What a member of `groups` may see.
    pub fn visibility(&self, groups: &[String]) -> Visibility {
        let mut accounts = BTreeSet::new();
        for group in groups.iter().map(String::as_str).chain([EVERY_USER]) {
            if let Some(mapped) = self.0.get(group) {
                if mapped.contains("*") {
                    return Visibility::All;
                }
                accounts.extend(mapped.iter().cloned());
            }
        }
        Visibility::Accounts(accounts)
    }
}

/// The linked accounts a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    Accounts(BTreeSet<String>),
}

impl Visibility {
    /// A stable description for cache keys.
    pub fn cache_key(&self) -> String {
        match self {
            Self::All => "*".into(),
            Self::Accounts(accounts) => accounts.iter().cloned().collect::<Vec<_>>().join(","),
        }
    }

    pub fn allows(&self, account: &str) -> bool {
        match self {
            Self::All => true,
            Self::Accounts(accounts) => accounts.contains(account),
        }
    }

    /// The filter to send: refused if it names an account outside the caller's, otherwise
    /// ANDed with a LINKED_ACCOUNT filter of the caller's accounts.
    /// The filter itself must pass [`Expression::validate`].
    pub fn restrict(&self, filter: Option<Expression>) -> Result<Option<Expression>, String> {
        if let Some(filter) = &filter {
            filter.validate().map_err(|why| format!("filter: {why}"))?;
        }
        let Self::Accounts(accounts) = self else {
            return Ok(filter);
        };
        if accounts.is_empty() {
            return Err(
                "your user is not mapped to any linked account, so no cost data is visible; \
                        ask an administrator to add one of your groups to the account mapping"
                    .into(),
            );
        }
        if let Some(filter) = &filter
            && let Some(other) = filter
                .values_of(Dimension::LinkedAccount)
                .into_iter()
                .find(|a| !accounts.contains(*a))
        {
            return Err(format!(
                "filter: linked account {other} is outside the accounts you may see ({})",
                accounts.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        let own = Expression::Dimension {
            key: Dimension::LinkedAccount,
            values: accounts.iter().cloned().collect(),
        };
        Ok(Some(match filter {
            Some(filter) => filter.and(own),
            None => own,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn mapping_decides_visibility() {
        let scopes = AccountScopes::parse_json(
            r#"{"finance": ["*"], "web": ["222222222222", "333333333333"], "data": ["444444444444"]}"#,
        )
        .unwrap();
        assert_eq!(
            scopes.visibility(&groups(&["web", "finance"])),
            Visibility::All
        );
        let web = scopes.visibility(&groups(&["web", "data"]));
        assert_eq!(web.cache_key(), "222222222222,333333333333,444444444444");
        assert_eq!(
            scopes.visibility(&groups(&["other"])),
            Visibility::Accounts(BTreeSet::new())
        );
        // Nothing mapped: nobody sees anything; the group "*" maps every signed-in user.
        assert_eq!(
            AccountScopes::default().visibility(&groups(&["finance"])),
            Visibility::Accounts(BTreeSet::new())
        );
        assert_eq!(
            AccountScopes::parse_json("{}")
                .unwrap()
                .visibility(&groups(&["finance"])),
            Visibility::Accounts(BTreeSet::new())
        );
        assert_eq!(AccountScopes::everyone().visibility(&[]), Visibility::All);
        assert_eq!(
            AccountScopes::parse_json(r#"{"*": ["*"]}"#).unwrap(),
            AccountScopes::everyone()
        );
        let base = AccountScopes::parse_json(r#"{"*": ["555555555555"], "web": ["222222222222"]}"#)
            .unwrap();
        assert_eq!(
            base.visibility(&groups(&["web"])).cache_key(),
            "222222222222,555555555555"
        );
        assert_eq!(base.visibility(&[]).cache_key(), "555555555555");
        assert!(AccountScopes::parse_json(r#"{"web": ["12"]}"#).is_err());
        assert!(AccountScopes::parse_json("[]").is_err());
    }

    #[test]
    fn a_limited_user_gets_their_accounts_anded_and_others_refused() {
        let v = Visibility::Accounts(["222222222222".to_owned()].into());
        let own = Expression::Dimension {
            key: Dimension::LinkedAccount,
            values: vec!["222222222222".into()],
        };
        assert_eq!(v.restrict(None).unwrap(), Some(own.clone()));
        let service = Expression::Dimension {
            key: Dimension::Service,
            values: vec!["AWS Lambda".into()],
        };
        assert_eq!(
            v.restrict(Some(service.clone())).unwrap(),
            Some(Expression::And(vec![service, own.clone()]))
        );
        let sneaky = Expression::Or(vec![
            own.clone(),
            Expression::Not(Box::new(Expression::Dimension {
                key: Dimension::LinkedAccount,
                values: vec!["111111111111".into()],
            })),
        ]);
        let err = v.restrict(Some(sneaky)).unwrap_err();
        assert!(err.contains("111111111111"), "{err}");
        assert!(
            Visibility::Accounts(BTreeSet::new())
                .restrict(None)
                .is_err()
        );
        assert_eq!(Visibility::All.restrict(None).unwrap(), None);
    }
}
