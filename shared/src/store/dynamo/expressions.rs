//! How the DynamoDB adapter phrases what it asks: a [`Condition`] as a condition expression,
//! an item's key, and a query's prefix and cursor as the one sort-key condition DynamoDB allows.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::convert::{EXPIRES_AT, PK, SK, integer, string, to_attribute};
use crate::store::item::Condition;

/// `#exp` names `expires_at`, `:now` is the caller's clock: the item is live.
pub(super) const LIVE: &str = "(attribute_not_exists(#exp) OR #exp > :now)";

/// A [`Condition`] as a DynamoDB condition expression with its names and values.
pub(super) struct ConditionParts {
    pub(super) expression: Option<String>,
    pub(super) names: Option<HashMap<String, String>>,
    pub(super) values: Option<HashMap<String, AttributeValue>>,
}

impl ConditionParts {
    pub(super) fn new(condition: &Condition, now: i64) -> Self {
        let (expression, mut names, mut values) = match condition {
            Condition::Always => {
                return Self {
                    expression: None,
                    names: None,
                    values: None,
                };
            }
            Condition::Absent => (
                "attribute_not_exists(#pk) OR #exp <= :now".to_owned(),
                HashMap::new(),
                HashMap::new(),
            ),
            Condition::Equals(name, value) => (
                format!("attribute_exists(#pk) AND {LIVE} AND #a = :v"),
                HashMap::from([("#a".to_owned(), (*name).to_owned())]),
                HashMap::from([(":v".to_owned(), to_attribute(value))]),
            ),
        };
        names.insert("#pk".to_owned(), PK.to_owned());
        names.insert("#exp".to_owned(), EXPIRES_AT.to_owned());
        values.insert(":now".to_owned(), integer(now));
        Self {
            expression: Some(expression),
            names: Some(names),
            values: Some(values),
        }
    }
}

pub(super) fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), string(pk)), (SK.to_owned(), string(sk))])
}

/// What a query asks of the sort key, reduced to the one key condition DynamoDB allows.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SortRange<'a> {
    /// The whole partition.
    Any,
    /// `begins_with(sk, prefix)`.
    Prefix(&'a str),
    /// `sk > after`, where `after` starts with the prefix: the prefixed keys past `after` are
    /// contiguous from there, so the scan ends at the first key without the prefix.
    After(&'a str),
    /// Nothing can match: `after` sorts past every key with the prefix.
    Nothing,
}

impl<'a> SortRange<'a> {
    /// DynamoDB and Rust both order strings by their UTF-8 bytes, so `str` comparison decides.
    pub(super) fn new(prefix: &'a str, after: Option<&'a str>) -> Self {
        match after {
            Some(after) if after.starts_with(prefix) => Self::After(after),
            // Every key with the prefix is at least the prefix, hence past `after`.
            Some(after) if after < prefix => Self::Prefix(prefix),
            // `after` is beyond the prefix and does not start with it: past the prefix range.
            Some(_) => Self::Nothing,
            None if prefix.is_empty() => Self::Any,
            None => Self::Prefix(prefix),
        }
    }
}
