//! The MCP App of the cost tools (SEP-1865, the `io.modelcontextprotocol/ui` extension,
//! specification 2026-01-26): one self-contained `ui://` HTML view (`app/cost-view.html`) that
//! hosts render for the series tools, listed and read as a resource, and the tools' `_meta.ui`.
//!
//! Clients without MCP Apps see the same tool results as before; the additions are the
//! resources capability, this one resource, and `_meta` on the tools the view draws.

use rmcp::ErrorData;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{ListResourcesResult, MetaObject, ReadResourceResult};
use serde_json::{Value, json};

/// The view's resource URI (the extension's `ui://` scheme, "Content Requirements").
pub const VIEW_URI: &str = "ui://aws-costs/cost-view.html";

/// The extension's MIME type for HTML views ("UI Resource Format").
pub const VIEW_MIME_TYPE: &str = "text/html;profile=mcp-app";

/// The tools whose structured result the view draws: cost and usage series, and the two
/// forecasts (mean with its prediction interval).
pub const VIEW_TOOLS: [&str; 3] = [
    "get_cost_and_usage",
    "get_cost_forecast",
    "get_usage_forecast",
];

/// The deprecated flat key the official package's `registerAppTool` still writes beside
/// `ui.resourceUri`, for hosts that read only that one (`RESOURCE_URI_META_KEY`).
const LEGACY_RESOURCE_URI_KEY: &str = "ui/resourceUri";

/// The view: one HTML document, inline CSS and script, no external fetches.
const VIEW_HTML: &str = include_str!("app/cost-view.html");

/// The resource's `_meta.ui` ("UI Resource Format"): no network origins of any kind, so hosts
/// apply their most restrictive policy; a border, since the view has no frame of its own.
fn resource_ui_meta() -> Value {
    json!({
        "csp": {
            "connectDomains": [],
            "resourceDomains": [],
            "frameDomains": [],
            "baseUriDomains": [],
        },
        "prefersBorder": true,
    })
}

/// Sets `_meta.ui.resourceUri` (and the flat legacy key) on every tool of [`VIEW_TOOLS`] the
/// router holds, keeping whatever `_meta` the tool already had. Visibility stays the default
/// (`["model", "app"]`): the model calls these tools, and the view calls them again.
pub(crate) fn declare_view<S>(router: &mut ToolRouter<S>) {
    for name in VIEW_TOOLS {
        if let Some(route) = router.map.get_mut(name) {
            let meta = route.attr.meta.get_or_insert_with(MetaObject::new);
            let ui = meta
                .0
                .entry("ui")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(ui) = ui {
                ui.insert("resourceUri".into(), Value::String(VIEW_URI.into()));
            }
            meta.0.insert(
                LEGACY_RESOURCE_URI_KEY.into(),
                Value::String(VIEW_URI.into()),
            );
        }
    }
}

/// `resources/list`: the view, with its `_meta.ui` (hosts may review it before any call).
pub(crate) fn list() -> Result<ListResourcesResult, ErrorData> {
    from_wire(json!({
        "resultType": "complete",
        "resources": [{
            "uri": VIEW_URI,
            "name": "cost-view",
            "title": "AWS cost view",
            "description": "Interactive chart and table of cost and usage or forecast series, \
                            with period and granularity controls (MCP App)",
            "mimeType": VIEW_MIME_TYPE,
            "_meta": { "ui": resource_ui_meta() },
        }],
    }))
}

/// `resources/read`: the view's HTML for its URI; any other URI is "resource not found" with
/// the URI in `data`.
pub(crate) fn read(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if uri != VIEW_URI {
        return Err(ErrorData::resource_not_found(
            "Resource not found",
            Some(json!({ "uri": uri })),
        ));
    }
    from_wire(json!({
        "resultType": "complete",
        "contents": [{
            "uri": VIEW_URI,
            "mimeType": VIEW_MIME_TYPE,
            "text": VIEW_HTML,
            "_meta": { "ui": resource_ui_meta() },
        }],
    }))
}

fn from_wire<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value).map_err(|e| {
        tracing::error!(error = %e, "the MCP App resource is not a valid MCP value");
        ErrorData::internal_error("the view resource could not be built", None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::CostServer;

    #[test]
    fn the_series_tools_point_at_the_view_and_the_others_do_not() {
        let router = CostServer::tool_router();
        for tool in router.list_all() {
            let meta = serde_json::to_value(&tool).unwrap()["_meta"].clone();
            if VIEW_TOOLS.contains(&tool.name.as_ref()) {
                assert_eq!(meta["ui"]["resourceUri"], json!(VIEW_URI), "{}", tool.name);
                assert_eq!(meta["ui/resourceUri"], json!(VIEW_URI), "{}", tool.name);
                assert!(meta["ui"].get("visibility").is_none(), "default visibility");
            } else {
                assert_eq!(meta, Value::Null, "{} has no _meta", tool.name);
            }
        }
        for name in VIEW_TOOLS {
            assert!(router.has_route(name), "{name} is a real tool");
        }
    }

    #[test]
    fn the_view_is_listed_and_read_with_the_apps_mime_type_and_csp() {
        let listed = serde_json::to_value(list().unwrap()).unwrap();
        let resource = &listed["resources"][0];
        assert_eq!(resource["uri"], json!(VIEW_URI));
        assert_eq!(resource["mimeType"], json!("text/html;profile=mcp-app"));
        assert_eq!(resource["_meta"]["ui"]["csp"]["connectDomains"], json!([]));

        let read = serde_json::to_value(read(VIEW_URI).unwrap()).unwrap();
        let content = &read["contents"][0];
        assert_eq!(content["uri"], json!(VIEW_URI));
        assert_eq!(content["mimeType"], json!("text/html;profile=mcp-app"));
        assert_eq!(content["_meta"]["ui"]["csp"]["resourceDomains"], json!([]));
        let html = content["text"].as_str().unwrap();
        assert!(html.starts_with("<!doctype html>"), "an HTML5 document");
    }

    /// Self-contained: nothing the host's restrictive CSP would block, no network calls.
    #[test]
    fn the_view_loads_nothing_from_elsewhere() {
        for banned in [
            "<script src",
            "<link",
            "@import",
            "url(",
            "<img",
            "<iframe",
            "src=",
            "fetch(",
            "XMLHttpRequest",
            "WebSocket",
            "EventSource",
            "sendBeacon",
            "eval(",
            "new Function",
        ] {
            assert!(!VIEW_HTML.contains(banned), "the view contains {banned:?}");
        }
        for method in [
            "ui/initialize",
            "ui/notifications/initialized",
            "ui/notifications/tool-input",
            "ui/notifications/tool-result",
            "ui/notifications/host-context-changed",
            "ui/notifications/size-changed",
            "ui/resource-teardown",
            "tools/call",
        ] {
            assert!(
                VIEW_HTML.contains(&format!("'{method}'")),
                "handles {method}"
            );
        }
    }

    #[test]
    fn other_uris_are_not_found() {
        let error = read("ui://aws-costs/other.html").unwrap_err();
        assert_eq!(
            error.data,
            Some(json!({ "uri": "ui://aws-costs/other.html" }))
        );
    }
}
