//! `openapi/openapi.yaml` describes exactly the routes `serverless-mcp serve` has: the route
//! tables (`authz::ROUTES`, `mcp::routes`, and serve's `/healthz`) equal the document's paths
//! and methods, and a running `serve` answers each table entry with exactly those methods.
//! Renaming, adding or removing a route without the document (or the other way round) fails.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::http::Method;

mod common;

use common::Server;

/// Routes `serve` adds to the two routers (serverless-mcp/src/serve.rs).
const SERVE_ROUTES: &[(&str, &[Method])] =
    &[("/healthz", &[Method::GET]), ("/metrics", &[Method::GET])];

const OPERATION_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// (OpenAPI path, upper-case method) of every operation in the document.
fn documented() -> BTreeSet<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let spec: serde_json::Value = serde_norway::from_str(&text).unwrap();
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "OpenAPI 3.1"
    );
    let mut operations = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (key, operation) in item.as_object().unwrap() {
            if OPERATION_METHODS.contains(&key.as_str()) {
                assert!(
                    operation["responses"]
                        .as_object()
                        .is_some_and(|r| !r.is_empty()),
                    "{key} {path} documents its responses"
                );
                operations.insert((path.clone(), key.to_ascii_uppercase()));
            }
        }
    }
    operations
}

/// axum's `{*rest}` wildcard is OpenAPI's `{rest}` (a parameter that may hold slashes).
fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// The configuration `serve` runs with by default (resource `<issuer>/mcp`).
fn default_config() -> shared::config::Config {
    shared::config::Config::from_lookup(|key| match key {
        "SMCP_ISSUER" => Some("http://127.0.0.1:8080".into()),
        "SMCP_RESOURCE" => Some("http://127.0.0.1:8080/mcp".into()),
        _ => None,
    })
    .unwrap()
}

/// Every route of the composed `serve` router, by the tables: (path, methods).
fn table() -> Vec<(String, Vec<Method>)> {
    let mut routes: Vec<(String, Vec<Method>)> = authz::ROUTES
        .iter()
        .chain(SERVE_ROUTES)
        .map(|(path, methods)| (openapi_path(path), methods.to_vec()))
        .collect();
    routes.extend(
        mcp::routes(&default_config())
            .into_iter()
            .map(|(path, methods)| (path, methods.to_vec())),
    );
    routes
}

#[test]
fn the_document_and_the_route_tables_list_the_same_operations() {
    let documented = documented();
    let routed: BTreeSet<(String, String)> = table()
        .into_iter()
        .flat_map(|(path, methods)| {
            methods
                .into_iter()
                .map(move |m| (path.clone(), m.as_str().to_owned()))
        })
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from openapi/openapi.yaml: {undocumented:?}; \
         operations in openapi/openapi.yaml that no router serves: {unrouted:?}"
    );
}

fn start() -> Server {
    let data_dir = std::env::temp_dir().join(format!("openapi-routes-{}", std::process::id()));
    let (server, lines) = common::start(data_dir.clone(), &data_dir, &[("SMCP_LOGIN", "embedded")]);
    std::thread::spawn(move || for _ in lines {});
    server
}

/// A request path for a route path: every parameter filled with `x`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The running server has every table entry with exactly its methods: a method not listed is
/// 405 (the path is routed) with `Allow` naming the listed ones, and a listed one is neither
/// 405 nor the 404 of an unknown path (except where the handler itself answers 404, for an
/// issuer path that is not this issuer's). An unknown path is 404.
#[tokio::test]
async fn serve_routes_exactly_the_table() {
    let server = start();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, methods) in table() {
        let url = format!("{}{}", server.base, concrete(&path));
        let response = http.patch(&url).send().await.unwrap();
        assert_eq!(response.status(), 405, "PATCH {path}");
        let mut allowed: Vec<String> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| m != "HEAD")
            .collect();
        allowed.sort();
        let mut listed: Vec<String> = methods.iter().map(ToString::to_string).collect();
        listed.sort();
        assert_eq!(allowed, listed, "Allow of {path}");
        for method in methods {
            let status = http
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap()
                .status();
            assert_ne!(status, 405, "{method} {path}");
            if !path.contains("/{path}") {
                assert_ne!(status, 404, "{method} {path}");
            }
        }
    }
    let status = http
        .get(format!("{}/no-such-route", server.base))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
}
