//! The suite's resources (`resources-list`, `resources-read-*`, `resources-templates-read`,
//! `resources-subscribe`/`-unsubscribe`, `sep-2164-resource-not-found`): two static resources,
//! a watched one, and the template `test://template/{id}/data`.

use rmcp::ErrorData;
use rmcp::model::{ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult};
use serde_json::json;

use crate::{PNG_BASE64, from_wire};

/// The watched resource of the subscription scenarios.
pub(crate) const WATCHED: &str = "test://watched-resource";

/// Every static resource, in a fixed order.
pub(crate) fn list() -> Result<ListResourcesResult, ErrorData> {
    from_wire(json!({"resultType": "complete", "resources": [
        {
            "uri": "test://static-text",
            "name": "static-text",
            "description": "A static text resource",
            "mimeType": "text/plain",
        },
        {
            "uri": "test://static-binary",
            "name": "static-binary",
            "description": "A static binary resource (a PNG image)",
            "mimeType": "image/png",
        },
        {
            "uri": WATCHED,
            "name": "watched-resource",
            "description": "A resource clients may subscribe to",
            "mimeType": "text/plain",
        },
    ]}))
}

/// Every resource template.
pub(crate) fn templates() -> Result<ListResourceTemplatesResult, ErrorData> {
    from_wire(json!({"resultType": "complete", "resourceTemplates": [{
        "uriTemplate": "test://template/{id}/data",
        "name": "template-data",
        "description": "Data for the id in the URI",
        "mimeType": "application/json",
    }]}))
}

/// `resources/read`; an unknown URI is "resource not found" with the URI in `data` (rmcp
/// answers it as -32602 to 2026-07-28 requests, SEP-2164, and as -32002 before).
pub(crate) fn read(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let text = |mime: &str, text: String| {
        from_wire(json!({
            "resultType": "complete",
            "contents": [{"uri": uri, "mimeType": mime, "text": text}],
        }))
    };
    match uri {
        "test://static-text" => text(
            "text/plain",
            "This is the content of the static text resource.".into(),
        ),
        "test://static-binary" => from_wire(json!({"resultType": "complete", "contents": [
            {"uri": uri, "mimeType": "image/png", "blob": PNG_BASE64},
        ]})),
        WATCHED => text("text/plain", "Watched resource content".into()),
        _ => match template_id(uri) {
            Some(id) => text(
                "application/json",
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")})
                    .to_string(),
            ),
            None => Err(ErrorData::resource_not_found(
                "Resource not found",
                Some(json!({"uri": uri})),
            )),
        },
    }
}

/// The `{id}` of `test://template/{id}/data`: one non-empty path segment.
fn template_id(uri: &str) -> Option<&str> {
    let id = uri
        .strip_prefix("test://template/")?
        .strip_suffix("/data")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_are_one_segment() {
        assert_eq!(template_id("test://template/123/data"), Some("123"));
        assert_eq!(template_id("test://template//data"), None);
        assert_eq!(template_id("test://template/a/b/data"), None);
        assert_eq!(template_id("test://static-text"), None);
    }

    #[test]
    fn unknown_resources_name_the_uri() {
        let error = read("test://nonexistent").unwrap_err();
        assert_eq!(error.data, Some(json!({"uri": "test://nonexistent"})));
    }
}
