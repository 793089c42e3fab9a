//! The fixture server of the official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! `conformance server`): the tools, prompts, resources, completions and logging its server
//! scenarios call, as one rmcp [`ServerHandler`], independent of how it is hosted.
//!
//! Names, arguments and answers follow the scenarios' own requirements (the suite's
//! descriptions and checks); the code is ours. Both protocol eras are served by the same
//! handler: the 2025-11-25 session lifecycle (server-to-client sampling, elicitation and
//! logging on the request's SSE stream, `resources/subscribe`) and the 2026-07-28 stateless
//! lifecycle (SEP-2322 input-required results instead of server requests, `subscriptions/listen`),
//! and the tasks extension (SEP-2663).
//!
//! Host it with rmcp's Streamable HTTP service, handing every session a clone of one server
//! (clones share the `requestState` key and the change feed that stateless requests rely on):
//!
//! ```no_run
//! use std::sync::Arc;
//! use conformance_fixture::FixtureServer;
//! use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
//! use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
//!
//! let server = FixtureServer::new();
//! let service = StreamableHttpService::new(
//!     move || Ok(server.clone()),
//!     Arc::new(LocalSessionManager::default()),
//!     StreamableHttpServerConfig::default(),
//! );
//! # let _ = service;
//! ```

// Sampling, elicitation, roots, logging and resources/subscribe are what the suite tests, though
// SEP-2577 deprecates them (and rmcp marks them so).
#![allow(deprecated)]

mod handler;
mod headers;
mod input_required;
mod prompts;
mod resources;
mod state;
mod tasks;
mod tools;

use std::collections::HashSet;
use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::model::{JsonObject, LoggingLevel};
use serde_json::Value;
use tokio::sync::{Mutex, broadcast};

/// A change the trigger tools announce to open `subscriptions/listen` streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Tools,
    Prompts,
}

/// What every clone of a [`FixtureServer`] shares.
struct Shared {
    /// Seals and opens SEP-2322 `requestState` values (a per-process HMAC key).
    sealer: state::Sealer,
    /// List changes, fanned out to every open `subscriptions/listen` stream.
    changes: broadcast::Sender<Change>,
    /// URIs subscribed with the legacy `resources/subscribe`.
    subscriptions: Mutex<HashSet<String>>,
    /// The level set with the legacy `logging/setLevel`.
    log_level: Mutex<LoggingLevel>,
    /// Tasks of the tasks extension, by id.
    tasks: Mutex<tasks::Tasks>,
}

/// The conformance suite's fixture server: an rmcp [`rmcp::ServerHandler`] with the suite's
/// tools, prompts, resources, completions and logging. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct FixtureServer {
    shared: Arc<Shared>,
}

impl FixtureServer {
    /// A fixture server with a fresh `requestState` key and no subscriptions.
    pub fn new() -> Self {
        let (changes, _) = broadcast::channel(16);
        Self {
            shared: Arc::new(Shared {
                sealer: state::Sealer::random(),
                changes,
                subscriptions: Mutex::new(HashSet::new()),
                log_level: Mutex::new(LoggingLevel::Debug),
                tasks: Mutex::new(tasks::Tasks::new()),
            }),
        }
    }

    /// Announces a list change to every open `subscriptions/listen` stream (none may be open).
    fn announce(&self, change: Change) {
        let _ = self.shared.changes.send(change);
    }
}

impl Default for FixtureServer {
    fn default() -> Self {
        Self::new()
    }
}

/// The JSON object in `value`, or an empty one (every caller passes an object literal).
fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// Builds an rmcp model value from its wire JSON; a mismatch is our bug, reported as an
/// internal error rather than a panic.
fn from_wire<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value).map_err(|e| {
        tracing::error!(error = %e, "fixture built an invalid MCP value");
        ErrorData::internal_error("the fixture built an invalid MCP value", None)
    })
}

/// A 1×1 orange RGB PNG, base64 (image content, binary resources, prompts with an image).
const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGOQz98CAAHzAUMBh4NgAAAAAElFTkSuQmCC";

/// Four silent samples of 8 kHz 16-bit mono PCM in a WAV file, base64 (audio content).
const WAV_BASE64: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQgAAAAAAAAAAAAAAA==";
