//! Repeated `tools/list` requests answered from memory, for a server that declares its tool list
//! static ([`crate::McpHost::static_tool_list`]): the list then depends on nothing but the
//! request, so rmcp's answer to one request is its answer to every request equal to it but for
//! the JSON-RPC id. The first request of each kind goes to rmcp as always; its `200` JSON answer
//! is kept, and later requests of that kind get the same bytes with their own id, without
//! building and serializing the list again (about 70 KB of JSON for the Cost Explorer server).
//!
//! "Of a kind" means equal in everything rmcp reads to answer a stateless `POST`: the URI, the
//! `Host`, `Origin`, `Accept`, `Content-Type`, `MCP-Protocol-Version`, `Mcp-Method` and
//! `Mcp-Name` headers (every value, in order), and the `params` text byte for byte. A request
//! with a session id or an `Mcp-Param-*` header, a batch, a body with any other member or an
//! id rmcp would not take as is (not an `i64` or a string) always goes to rmcp, as does every
//! request once [`MAX_KINDS`] kinds are kept. The layer sits behind the bearer layer: every
//! request is still authenticated, checked for revocation and scopes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// At most this many kinds of request are kept (about 70 KB each for the Cost Explorer server):
/// clients of one protocol version send one kind, so a handful covers every client, and
/// requests of further kinds are answered by rmcp as if nothing were kept.
pub const MAX_KINDS: usize = 32;

/// Longest `params` text kept as part of a kind.
const MAX_PARAMS_BYTES: usize = 2048;

/// The headers rmcp reads to answer a stateless `POST` (besides the session and `Mcp-Param-*`
/// headers, whose presence sends a request to rmcp).
const KEYED_HEADERS: [&str; 7] = [
    "host",
    "origin",
    "accept",
    "content-type",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
];

/// The kept answers, by kind.
#[derive(Default)]
pub(crate) struct ToolListMemo {
    answers: RwLock<HashMap<Vec<u8>, Arc<Answer>>>,
}

/// One kept answer: rmcp's headers and the `result` text (shared by every answer sent, never
/// copied).
struct Answer {
    headers: HeaderMap,
    result: Bytes,
}

/// A JSON-RPC id as rmcp takes it (`NumberOrString`).
#[derive(Deserialize, Serialize, PartialEq, Debug)]
#[serde(untagged)]
enum Id<'a> {
    Number(i64),
    Text(std::borrow::Cow<'a, str>),
}

/// A single `tools/list` request with nothing rmcp would read differently.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListRequest<'a> {
    #[serde(borrow)]
    jsonrpc: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: Id<'a>,
    #[serde(borrow)]
    method: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// rmcp's answer to one: the envelope is rebuilt around a kept `result`.
#[derive(Deserialize)]
struct ListAnswer<'a, R> {
    jsonrpc: &'a str,
    #[serde(borrow)]
    id: Id<'a>,
    result: R,
}

/// The request's kind, or `None` when it must go to rmcp.
fn kind(request: &Request, body: &[u8]) -> Option<(Vec<u8>, Id<'static>)> {
    let headers = request.headers();
    if headers.contains_key("mcp-session-id")
        || headers
            .keys()
            .any(|name| name.as_str().starts_with("mcp-param-"))
    {
        return None;
    }
    let message: ListRequest<'_> = serde_json::from_slice(body).ok()?;
    if message.jsonrpc != "2.0" || message.method != "tools/list" {
        return None;
    }
    let params = message.params.map_or("", RawValue::get);
    if params.len() > MAX_PARAMS_BYTES {
        return None;
    }
    let mut key = Vec::with_capacity(256 + params.len());
    let uri = request.uri();
    key.extend_from_slice(uri.scheme_str().unwrap_or_default().as_bytes());
    key.push(0);
    key.extend_from_slice(uri.authority().map_or("", |a| a.as_str()).as_bytes());
    key.push(0);
    key.extend_from_slice(uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    for name in KEYED_HEADERS {
        for value in headers.get_all(name) {
            key.push(0);
            key.extend_from_slice(name.as_bytes());
            key.push(b':');
            key.extend_from_slice(value.as_bytes());
        }
    }
    key.push(0);
    key.extend_from_slice(params.as_bytes());
    let id = match message.id {
        Id::Number(n) => Id::Number(n),
        Id::Text(text) => Id::Text(text.into_owned().into()),
    };
    Some((key, id))
}

/// The text before a `result` in rmcp's answer to `id`: `{"jsonrpc":"2.0","id":<id>,"result":`
/// (the answer closes with `}`).
fn opening(id: &Id<'_>) -> Option<Vec<u8>> {
    let mut text = br#"{"jsonrpc":"2.0","id":"#.to_vec();
    serde_json::to_writer(&mut text, id).ok()?;
    text.extend_from_slice(br#","result":"#);
    Some(text)
}

/// What rmcp answered `id` with, if it is an answer to keep: `200`, JSON, and exactly the
/// envelope [`envelope`] rebuilds (so a kept answer is byte for byte what rmcp would send).
fn keepable(id: &Id<'_>, headers: &HeaderMap, body: &[u8]) -> Option<Answer> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/json"));
    if !json {
        return None;
    }
    let answer: ListAnswer<'_, &RawValue> = serde_json::from_slice(body).ok()?;
    let opening = opening(id)?;
    let result = answer.result.get().as_bytes();
    let rebuilt = [opening.as_slice(), result, b"}"].concat();
    if answer.jsonrpc != "2.0" || answer.id != *id || rebuilt != body {
        return None;
    }
    let mut headers = headers.clone();
    headers.remove(header::CONTENT_LENGTH);
    Some(Answer {
        headers,
        result: Bytes::copy_from_slice(result),
    })
}

/// A kept answer for a request of a known kind, rmcp's otherwise (kept when it can be). Called by
/// the bearer layer for an admitted request, with the body bytes it has read (`request` carries
/// the same bytes as its body).
pub(crate) async fn answer(
    memo: &ToolListMemo,
    request: Request,
    bytes: &Bytes,
    next: Next,
) -> Response {
    let Some((key, id)) = kind(&request, bytes) else {
        return next.run(request).await;
    };
    let kept = memo
        .answers
        .read()
        .ok()
        .and_then(|answers| answers.get(&key).cloned());
    if let Some(kept) = kept
        && let Some(opening) = opening(&id)
    {
        let body = Chunks::new([
            Bytes::from(opening),
            kept.result.clone(),
            Bytes::from_static(b"}"),
        ]);
        let mut response = Response::new(Body::new(body));
        *response.headers_mut() = kept.headers.clone();
        return response;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK
        || response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|v| v != HeaderValue::from_static("application/json"))
    {
        return response;
    }
    // A JSON answer is complete (rmcp sends a `Full` body): read it, keep it, pass it on.
    let (parts, body) = response.into_parts();
    let bytes: Bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if let Some(answer) = keepable(&id, &parts.headers, &bytes)
        && let Ok(mut answers) = memo.answers.write()
        && answers.len() < MAX_KINDS
    {
        answers.entry(key).or_insert_with(|| Arc::new(answer));
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A body of a few chunks sent as they are (the kept `result` is not copied into one buffer),
/// with its exact length known (so it goes out with `Content-Length`).
struct Chunks {
    chunks: std::collections::VecDeque<Bytes>,
    remaining: u64,
}

impl Chunks {
    fn new(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        let chunks: std::collections::VecDeque<Bytes> = chunks.into_iter().collect();
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self { chunks, remaining }
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = self.chunks.pop_front();
        if let Some(chunk) = &next {
            self.remaining -= chunk.len() as u64;
        }
        std::task::Poll::Ready(next.map(|chunk| Ok(http_body::Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}
