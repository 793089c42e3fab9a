//! The look the bearer layer takes into a JSON-RPC body before dispatch: which tools a
//! `tools/call` message (or each message of a batch) names, read without building a JSON tree.
//! Strings borrow from the body unless they hold escapes (`"get\u005fcost…"` is unescaped, so
//! it names the same tool).
//!
//! Hand-written rather than derived, so the look matches a full parse read leniently: a message
//! that is not an object, or a field of another type, names no tool without spoiling the rest of
//! a batch, and a repeated key counts by its last value, as in a `serde_json::Value`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
/// its content skipped.
trait Shape<'de>: Default {
    fn text(_: Cow<'de, str>) -> Self {
        Self::default()
    }

    fn object<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::default())
    }

    fn array<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
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
                    map.next_value::<IgnoredAny>()?;
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
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(params)
    }
}
