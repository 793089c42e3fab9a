//! SEP-2243 custom parameter headers (`http-custom-header-server-validation`): a tool argument
//! whose schema carries `x-mcp-header: <Name>` is mirrored by the client into
//! `Mcp-Param-<Name>`, verbatim or as `=?base64?<standard Base64>?=`. The server checks the
//! header against the body and answers -32020 (HeaderMismatch, HTTP 400) when it is missing,
//! undecodable or different.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rmcp::ErrorData;
use rmcp::model::{JsonObject, Tool};
use serde_json::{Value, json};

use crate::object;

/// The tool with a mirrored parameter: `region`, sent as `Mcp-Param-Region`.
pub(crate) fn tool() -> Tool {
    Tool::new(
        "test_custom_headers",
        "Echoes its region, which the client mirrors into the Mcp-Param-Region header (SEP-2243)",
        object(json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "description": "A region name", "x-mcp-header": "Region"},
            },
            "required": ["region"],
        })),
    )
}

/// The value a header carries: Base64 when wrapped in `=?base64?…?=`, otherwise literal.
/// `None` for a wrapped value that is not canonical standard Base64 of UTF-8 text.
fn decode(header: &str) -> Option<String> {
    let header = header.trim_matches([' ', '\t']);
    match header
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(STANDARD.decode(encoded).ok()?).ok(),
        None => Some(header.to_owned()),
    }
}

/// The text form of an argument as a header would carry it (strings as is, numbers and
/// booleans in JSON form); `None` for anything else.
fn as_header_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Checks every mirrored argument of a call against its `Mcp-Param-*` header. Requests that
/// did not come over HTTP (no request parts) have no headers to check.
pub(crate) fn check(
    schema: &JsonObject,
    arguments: Option<&JsonObject>,
    headers: Option<&http::HeaderMap>,
) -> Result<(), ErrorData> {
    let (Some(arguments), Some(headers)) = (arguments, headers) else {
        return Ok(());
    };
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    for (param, property) in properties {
        let Some(name) = property.get("x-mcp-header").and_then(Value::as_str) else {
            continue;
        };
        let Some(expected) = arguments.get(param).and_then(as_header_text) else {
            continue;
        };
        let header = format!("Mcp-Param-{name}");
        let mismatch = |why: &str| {
            ErrorData::header_mismatch(
                format!("{header} {why}"),
                Some(json!({"header": header, "parameter": param})),
            )
        };
        let raw = headers
            .get(header.as_str())
            .ok_or_else(|| mismatch("is missing but the argument is present"))?;
        let raw = raw.to_str().map_err(|_| mismatch("is not visible ASCII"))?;
        let carried = decode(raw).ok_or_else(|| mismatch("is not valid Base64"))?;
        if carried != expected {
            return Err(mismatch("does not match the argument"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        map.insert("mcp-param-region", value.parse().unwrap());
        map
    }

    fn call(header: Option<&str>, body: &str) -> Result<(), ErrorData> {
        let tool = tool();
        let args = object(json!({"region": body}));
        let map = header.map(headers).unwrap_or_default();
        check(&tool.input_schema, Some(&args), Some(&map))
    }

    #[test]
    fn headers_follow_the_sep_2243_table() {
        assert!(call(Some("=?base64?SGVsbG8=?="), "Hello").is_ok());
        assert!(call(Some("=?base64?SGVsbG8?="), "Hello").is_err());
        assert!(call(Some("=?base64?SGVs!!!bG8=?="), "Hello").is_err());
        assert!(call(Some("SGVsbG8="), "SGVsbG8=").is_ok());
        assert!(call(Some("=?base64?SGVsbG8="), "=?base64?SGVsbG8=").is_ok());
        assert!(call(Some(" us-west1 "), "us-west1").is_ok());
        assert!(call(None, "us-west1").is_err());
        assert!(call(Some("eu-west1"), "us-west1").is_err());
    }
}
