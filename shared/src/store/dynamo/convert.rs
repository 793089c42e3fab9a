//! The mapping between the item model and DynamoDB attribute maps (docs/architecture.md,
//! "Storage"): key and TTL attributes by name, every other attribute as the native DynamoDB type of
//! its JSON value, so the table stays readable in the console.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

use crate::store::StoreError;
use crate::store::item::Item;

pub(super) const PK: &str = "PK";
pub(super) const SK: &str = "SK";
pub(super) const GSI1PK: &str = "GSI1PK";
pub(super) const GSI1SK: &str = "GSI1SK";
pub(super) const EXPIRES_AT: &str = "expires_at";

/// A DynamoDB string attribute.
pub(super) fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A DynamoDB number attribute holding an integer.
pub(super) fn integer(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Converts a JSON value to its native DynamoDB counterpart; numbers keep their exact text.
pub(super) fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(name, value)| (name.clone(), to_attribute(value)))
                .collect(),
        ),
    }
}

/// Converts a DynamoDB attribute back to JSON. String and number sets (never written by us, but
/// an operator may add them) become arrays; binary attributes have no JSON form and are refused.
pub(super) fn from_attribute(value: AttributeValue) -> Result<Value, &'static str> {
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::N(text) => Value::Number(parse_number(&text)?),
        AttributeValue::S(s) => Value::String(s),
        AttributeValue::L(items) => Value::Array(
            items
                .into_iter()
                .map(from_attribute)
                .collect::<Result<_, _>>()?,
        ),
        AttributeValue::M(map) => Value::Object(
            map.into_iter()
                .map(|(name, value)| from_attribute(value).map(|value| (name, value)))
                .collect::<Result<Map<_, _>, _>>()?,
        ),
        AttributeValue::Ss(items) => Value::Array(items.into_iter().map(Value::String).collect()),
        AttributeValue::Ns(items) => Value::Array(
            items
                .iter()
                .map(|text| parse_number(text).map(Value::Number))
                .collect::<Result<_, _>>()?,
        ),
        AttributeValue::B(_) | AttributeValue::Bs(_) => {
            return Err("binary attributes are not supported");
        }
        _ => return Err("attribute has an unknown DynamoDB type"),
    })
}

/// Parses a DynamoDB number: integers exactly, anything else as a finite float.
fn parse_number(text: &str) -> Result<Number, &'static str> {
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n.into());
    }
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n.into());
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or("number attribute is not a finite number")
}

/// The attribute map stored for `item`. Key and TTL attributes are written last, so a stray
/// attribute of the same name can never replace them.
pub(super) fn item_to_attributes(item: &Item) -> HashMap<String, AttributeValue> {
    let mut map: HashMap<String, AttributeValue> = item
        .attrs
        .iter()
        .map(|(name, value)| (name.clone(), to_attribute(value)))
        .collect();
    map.insert(PK.into(), string(&item.pk));
    map.insert(SK.into(), string(&item.sk));
    match &item.gsi1 {
        Some((pk, sk)) => {
            map.insert(GSI1PK.into(), string(pk));
            map.insert(GSI1SK.into(), string(sk));
        }
        None => {
            map.remove(GSI1PK);
            map.remove(GSI1SK);
        }
    }
    match item.expires_at {
        Some(at) => {
            map.insert(EXPIRES_AT.into(), integer(at));
        }
        None => {
            map.remove(EXPIRES_AT);
        }
    }
    map
}

/// Rebuilds an item from a stored attribute map.
pub(super) fn attributes_to_item(
    mut map: HashMap<String, AttributeValue>,
) -> Result<Item, StoreError> {
    let Some(AttributeValue::S(pk)) = map.remove(PK) else {
        return Err(StoreError::corrupt("(unknown)", "item has no string PK"));
    };
    let Some(AttributeValue::S(sk)) = map.remove(SK) else {
        return Err(StoreError::corrupt(pk, "item has no string SK"));
    };
    let gsi1 = match (map.remove(GSI1PK), map.remove(GSI1SK)) {
        (None, None) => None,
        (Some(AttributeValue::S(gpk)), Some(AttributeValue::S(gsk))) => Some((gpk, gsk)),
        _ => {
            return Err(StoreError::corrupt(
                pk,
                "GSI1PK and GSI1SK must both be strings or both be absent",
            ));
        }
    };
    let expires_at = match map.remove(EXPIRES_AT) {
        None => None,
        Some(AttributeValue::N(text)) => match text.parse::<i64>() {
            Ok(at) => Some(at),
            Err(_) => {
                return Err(StoreError::corrupt(
                    pk,
                    "expires_at is not an integer number of seconds",
                ));
            }
        },
        Some(_) => return Err(StoreError::corrupt(pk, "expires_at is not a number")),
    };
    let mut attrs = Map::new();
    for (name, value) in map {
        match from_attribute(value) {
            Ok(value) => {
                attrs.insert(name, value);
            }
            Err(reason) => {
                return Err(StoreError::corrupt(
                    pk,
                    format!("attribute {name}: {reason}"),
                ));
            }
        }
    }
    Ok(Item {
        pk,
        sk,
        gsi1,
        expires_at,
        attrs,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::primitives::Blob;
    use serde_json::json;

    use super::*;

    fn nested() -> Value {
        json!({
            "int": 42,
            "big": u64::MAX,
            "negative": -17,
            "min": i64::MIN,
            "float": 1.5,
            "negative_float": -0.25,
            "tiny": 1e-7,
            "yes": true,
            "no": false,
            "nothing": null,
            "empty_list": [],
            "empty_map": {},
            "empty_string": "",
            "list": [1, "two", [3.5, null], {"four": false}],
            "map": {"inner": {"deeper": [-1, {}]}, "text": "ünïcødé"},
        })
    }

    #[test]
    fn json_round_trips_through_attributes() {
        let value = nested();
        assert_eq!(from_attribute(to_attribute(&value)), Ok(value));
    }

    #[test]
    fn json_maps_to_native_types() {
        assert_eq!(to_attribute(&json!("s")), AttributeValue::S("s".into()));
        assert_eq!(to_attribute(&json!(-3)), AttributeValue::N("-3".into()));
        assert_eq!(to_attribute(&json!(0.5)), AttributeValue::N("0.5".into()));
        assert_eq!(to_attribute(&json!(true)), AttributeValue::Bool(true));
        assert_eq!(to_attribute(&Value::Null), AttributeValue::Null(true));
        assert_eq!(to_attribute(&json!([])), AttributeValue::L(vec![]));
        assert_eq!(to_attribute(&json!({})), AttributeValue::M(HashMap::new()));
        assert_eq!(
            to_attribute(&json!({"a": [1]})),
            AttributeValue::M(HashMap::from([(
                "a".to_owned(),
                AttributeValue::L(vec![AttributeValue::N("1".into())])
            )]))
        );
    }

    #[test]
    fn numbers_as_dynamodb_returns_them_parse() {
        let parse = |text: &str| from_attribute(AttributeValue::N(text.into()));
        assert_eq!(parse("18446744073709551615"), Ok(json!(u64::MAX)));
        assert_eq!(parse("-9223372036854775808"), Ok(json!(i64::MIN)));
        assert_eq!(parse("1E+5"), Ok(json!(100000.0)));
        assert_eq!(parse("0.000001"), Ok(json!(0.000001)));
        assert!(parse("NaN").is_err());
        assert!(parse("inf").is_err());
        assert!(parse("twelve").is_err());
    }

    #[test]
    fn sets_become_arrays_and_binary_is_refused() {
        assert_eq!(
            from_attribute(AttributeValue::Ss(vec!["a".into(), "b".into()])),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(
            from_attribute(AttributeValue::Ns(vec!["1".into(), "2.5".into()])),
            Ok(json!([1, 2.5]))
        );
        assert!(from_attribute(AttributeValue::B(Blob::new(vec![1]))).is_err());
    }

    #[test]
    fn item_round_trips_through_attributes() {
        let Value::Object(attrs) = nested() else {
            panic!("fixture is an object");
        };
        let item = Item {
            pk: "CLIENT#abc".into(),
            sk: "CLIENT".into(),
            gsi1: Some(("CLIENTS".into(), "2024-01-01T00:00:00Z#abc".into())),
            expires_at: Some(-5),
            attrs,
        };
        let map = item_to_attributes(&item);
        assert_eq!(map.get("PK"), Some(&AttributeValue::S("CLIENT#abc".into())));
        assert_eq!(map.get("expires_at"), Some(&AttributeValue::N("-5".into())));
        assert_eq!(attributes_to_item(map).ok(), Some(item));

        let bare = Item::new("P", "S");
        let map = item_to_attributes(&bare);
        assert_eq!(map.len(), 2);
        assert_eq!(attributes_to_item(map).ok(), Some(bare));
    }

    #[test]
    fn key_attributes_win_over_stray_attrs() {
        let mut item = Item::new("P", "S");
        item.attrs.insert("PK".into(), json!("other"));
        item.attrs.insert("GSI1PK".into(), json!("other"));
        item.attrs.insert("expires_at".into(), json!(1));
        let map = item_to_attributes(&item);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("PK"), Some(&AttributeValue::S("P".into())));
    }

    #[test]
    fn malformed_items_are_corrupt() {
        let key = |pk: &str| {
            HashMap::from([
                ("PK".to_owned(), AttributeValue::S(pk.into())),
                ("SK".to_owned(), AttributeValue::S("S".into())),
            ])
        };
        assert!(attributes_to_item(HashMap::new()).is_err());

        let mut half_gsi = key("P");
        half_gsi.insert("GSI1PK".into(), AttributeValue::S("G".into()));
        assert!(matches!(
            attributes_to_item(half_gsi),
            Err(StoreError::Corrupt { key, .. }) if key == "P"
        ));

        let mut bad_ttl = key("P");
        bad_ttl.insert("expires_at".into(), AttributeValue::N("1.5".into()));
        assert!(attributes_to_item(bad_ttl).is_err());

        let mut binary = key("P");
        binary.insert("blob".into(), AttributeValue::B(Blob::new(vec![0])));
        assert!(attributes_to_item(binary).is_err());
    }
}
