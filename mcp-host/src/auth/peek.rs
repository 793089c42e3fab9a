//! The look the bearer layer takes into a JSON-RPC body before dispatch: which tools a
//! `tools/call` message (or each message of a batch) names, read without building a JSON tree.
//! Strings borrow from the body unless they hold escapes (`"get\u005fcost…"` is unescaped, so
//! it names the same tool).
//!
//! Hand-written rather than derived, so the look matches a full parse read leniently: a message
//! that is not an object, or a field of another type, names no tool without spoiling the rest of
//! a batch, and a repeated key counts by its last value, as in a `serde_json::Value`. Values it
//! does not keep are still parsed (not skipped unread), so a body a full parse refuses (nested
//! too deep, a number out of range, a string that is not UTF-8) names no tool here either.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// The tools the JSON-RPC message(s) in `body` call, in order; none when it is not JSON.
pub(super) fn called_tools(body: &[u8]) -> Vec<Cow<'_, str>> {
    let Ok(Loose(Body(messages))) = serde_json::from_slice::<Loose<Body<'_>>>(body) else {
        return Vec::new();
    };
    messages
        .into_iter()
        .filter(|m| m.method.as_deref() == Some("tools/call"))
        .filter_map(|m| m.params.and_then(|p| p.name))
        .collect()
}

/// What is read of a JSON value of each kind; every kind not overridden reads as the default,
/// its content parsed and dropped.
trait Shape<'de>: Default {
    fn text(_: Cow<'de, str>) -> Self {
        Self::default()
    }

    fn object<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<Loose<Skip>, Loose<Skip>>()?.is_some() {}
        Ok(Self::default())
    }

    fn array<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<Loose<Skip>>()?.is_some() {}
        Ok(Self::default())
    }
}

/// Any JSON value, read as the shape `T` wants.
struct Loose<T>(T);

impl<'de, T: Shape<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor(PhantomData))
    }
}

struct LooseVisitor<T>(PhantomData<T>);

impl<'de, T: Shape<'de>> Visitor<'de> for LooseVisitor<T> {
    type Value = Loose<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose(T::default()))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Loose(T::default()))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Loose(T::default()))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Loose(T::default()))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose(T::default()))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose(T::text(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose(T::text(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose(T::text(Cow::Owned(v))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::object(map).map(Loose)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::array(seq).map(Loose)
    }
}

/// A value read through and dropped. Not serde's `IgnoredAny`, which serde_json skips without
/// the checks a full parse makes (depth, number range, UTF-8).
#[derive(Default)]
struct Skip;

impl Shape<'_> for Skip {}

/// A string; any other value reads as `None`.
type Text<'de> = Option<Cow<'de, str>>;

impl<'de> Shape<'de> for Text<'de> {
    fn text(v: Cow<'de, str>) -> Self {
        Some(v)
    }
}

/// The messages of a body: one object, or the objects of a batch.
#[derive(Default)]
struct Body<'de>(Vec<Peek<'de>>);

impl<'de> Shape<'de> for Body<'de> {
    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        Ok(Self(vec![Peek::object(map)?]))
    }

    fn array<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut messages = Vec::new();
        while let Some(Loose(message)) = seq.next_element::<Loose<Peek<'de>>>()? {
            messages.push(message);
        }
        Ok(Self(messages))
    }
}

/// What the scope check reads of one message.
#[derive(Default)]
struct Peek<'de> {
    method: Text<'de>,
    params: Option<PeekParams<'de>>,
}

impl<'de> Shape<'de> for Peek<'de> {
    fn object<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut peek = Self::default();
        while let Some(Loose(key)) = map.next_key::<Loose<Text<'de>>>()? {
            match key.as_deref() {
                Some("method") => peek.method = map.next_value::<Loose<Text<'de>>>()?.0,
                Some("params") => peek.params = Some(map.next_value::<Loose<PeekParams>>()?.0),
                _ => {
                    map.next_value::<Loose<Skip>>()?;
                }
            }
        }
        Ok(peek)
    }
}

/// What the scope check reads of a message's `params`.
#[derive(Default)]
struct PeekParams<'de> {
    name: Text<'de>,
}

impl<'de> Shape<'de> for PeekParams<'de> {
    fn object<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut params = Self::default();
        while let Some(Loose(key)) = map.next_key::<Loose<Text<'de>>>()? {
            if key.as_deref() == Some("name") {
                params.name = map.next_value::<Loose<Text<'de>>>()?.0;
            } else {
                map.next_value::<Loose<Skip>>()?;
            }
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// The reference: the tools a full `serde_json::Value` read finds (the reading this module
    /// replaced).
    fn called_tools_by_value(body: &[u8]) -> Vec<String> {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        let messages = match &value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        messages
            .into_iter()
            .filter(|m| m.get("method").and_then(Value::as_str) == Some("tools/call"))
            .filter_map(|m| m.get("params")?.get("name")?.as_str().map(str::to_owned))
            .collect()
    }

    fn peek(body: &[u8]) -> Vec<String> {
        called_tools(body)
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    /// What serde_json's skipping would let through and a full parse refuses: nesting past its
    /// depth limit, numbers out of range, broken escapes, bytes that are not UTF-8.
    #[test]
    fn bodies_a_full_parse_refuses_name_no_tool() {
        let call = |arguments: &[u8]| {
            let mut body =
                br#"{"method":"tools/call","params":{"name":"get_cost_and_usage_with_resources","arguments":"#
                    .to_vec();
            body.extend_from_slice(arguments);
            body.extend_from_slice(b"}}");
            body
        };
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let found = [
            call(nested(100).as_bytes()),
            call(b"1.5e300"),
            call(br#""\u00e9""#),
        ];
        for body in &found {
            assert_eq!(peek(body), ["get_cost_and_usage_with_resources"]);
            assert_eq!(peek(body), called_tools_by_value(body));
        }
        let refused = [
            call(nested(200).as_bytes()),
            call(b"1e400"),
            call(b"-1e400"),
            call(br#""\x""#),
            call(br#""\ud800x""#),
            call(b"\"\xff\""),
            call(b"\"\x01\""),
        ];
        for body in &refused {
            assert!(peek(body).is_empty(), "{}", String::from_utf8_lossy(body));
            assert_eq!(peek(body), called_tools_by_value(body));
        }
    }

    fn atom() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "1",
            "null",
            "true",
            "\"s\"",
            "[]",
            "{}",
            "[{\"name\":\"get_cost_and_usage_with_resources\"}]",
            "\"get_cost_and_usage_with_resources\"",
            "\"get_cost_and_usage_with_resource\\u0073\"",
            "\"get_cost_and_usage\"",
        ])
        .prop_map(str::to_owned)
    }

    /// An object from `entries` (keys may repeat, as raw JSON text allows).
    fn object(entries: Vec<(&'static str, String)>) -> String {
        let fields: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    fn params() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec!["name", "n\\u0061me", "arguments", "other"]);
        prop_oneof![
            prop::collection::vec((key, atom()), 0..4).prop_map(object),
            atom(),
        ]
    }

    fn message() -> impl Strategy<Value = String> {
        let method = prop::sample::select(vec![
            "\"tools/call\"",
            "\"tools\\/call\"",
            "\"tools/list\"",
            "5",
        ])
        .prop_map(str::to_owned);
        let entry = prop_oneof![
            method.prop_map(|v| ("method", v)),
            params().prop_map(|v| ("params", v)),
            atom().prop_map(|v| ("m\\u0065thod", v)),
            atom().prop_map(|v| ("id", v)),
        ];
        prop_oneof![
            4 => prop::collection::vec(entry, 0..5).prop_map(object),
            1 => atom(),
        ]
    }

    fn body() -> impl Strategy<Value = String> {
        prop_oneof![
            message(),
            prop::collection::vec(message(), 0..4).prop_map(|m| format!("[{}]", m.join(","))),
            message().prop_map(|m| format!("{m} trailing")),
            message().prop_map(|m| m.chars().take(m.len() / 2).collect()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Batches, repeated keys, escapes, fields of other types and broken JSON: the peek names
        /// the same tools as a full parse.
        #[test]
        fn the_peek_finds_what_a_full_parse_finds(body in body()) {
            prop_assert_eq!(peek(body.as_bytes()), called_tools_by_value(body.as_bytes()), "{}", body);
        }
    }
}
