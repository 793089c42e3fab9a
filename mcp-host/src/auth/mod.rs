//! The bearer-token layer in front of the MCP endpoint (RFC 6750, RFC 9068, MCP authorization):
//! `Authorization: Bearer` only, verification against the issuer's JWKS (cached; refetched at
//! most every 30 s when a token names an unknown key), the 401/403 challenges of RFC 6750
//! section 3 naming the resource metadata of RFC 9728, and the verified caller put into request
//! extensions for the tools.
//!
//! Scopes per tool, as the server declares them ([`ScopePolicy`]): every request needs the
//! policy's base scope; a `tools/call` of a tool needing more is recognised here by reading the
//! JSON-RPC body before dispatch, so the client gets an HTTP 403 `insufficient_scope` challenge
//! (which MCP clients act on by asking for the scope) rather than a tool error inside a 200.

mod challenge;
mod jwks;
mod peek;
mod verifier;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt as _, Limited};
use shared::metrics::{self, Metric, Refusal};
use shared::store::TokenIdentity;
use shared::token::{AccessClaims, VerifyError};

use self::challenge::{json_error, keys_unavailable};
pub use self::jwks::{HttpJwks, InProcessJwks, JwksError, JwksSource};
pub use self::verifier::JWKS_REFETCH_SECS;
pub(crate) use self::verifier::{AuthFailure, Authenticator};
use crate::caller::Caller;
use crate::clearance::Clearance;
use crate::scopes::ScopePolicy;
use crate::tool_list::{self, ToolListMemo};

/// Largest JSON-RPC body read (the MCP service's own limit).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The token of `Authorization: Bearer <token>`; other schemes and query strings are ignored.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What the JSON-RPC message(s) in `body` call: whether any is a `tools/call`, and the extra
/// scopes the called tools need.
fn tool_calls<'p>(policy: &'p ScopePolicy, body: &[u8]) -> (bool, Vec<&'p str>) {
    let mut needed = Vec::new();
    let called = peek::called_tools(body);
    for name in &called {
        for extra in policy.extra_for(name) {
            if !needed.contains(&extra.as_str()) {
                needed.push(extra.as_str());
            }
        }
    }
    (!called.is_empty(), needed)
}

/// Whether `body` is one JSON-RPC message, not a batch. Only a single `tools/call` may start
/// before its revocation verdict: a batch could carry other requests beside the call, whose
/// handlers do not wait on a clearance.
fn single_message(body: &[u8]) -> bool {
    body.trim_ascii_start().first() == Some(&b'{')
}

/// The extra scopes the JSON-RPC message(s) in `body` need (tool calls only).
#[cfg(test)]
fn scopes_needed<'p>(policy: &'p ScopePolicy, body: &[u8]) -> Vec<&'p str> {
    tool_calls(policy, body).1
}

/// The middleware: authenticate, check scopes, hand the caller to the MCP service.
///
/// The revocation check (one store round trip) runs before the service, except for a
/// `tools/call` on a host that overlaps it ([`crate::McpHost::overlap_revocation_check`]): then
/// the service starts at once with a pending [`Clearance`], and its response is held until the
/// verdict. A refusal of any kind answers as the sequential order would: 401 for a revoked
/// token comes before 413 and 403.
pub(crate) async fn require_bearer(
    auth: &Authenticator,
    memo: Option<&ToolListMemo>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer_token(request.headers()) else {
        return auth.unauthorized(Refusal::MissingToken, None);
    };
    let claims = match auth.verify(token).await {
        Ok(claims) => claims,
        Err(AuthFailure::Invalid(e)) => {
            tracing::info!(reason = %e, "bearer token refused");
            let why = match e {
                VerifyError::Expired => Refusal::ExpiredToken,
                _ => Refusal::InvalidToken,
            };
            return auth.unauthorized(why, Some(&e));
        }
        Err(AuthFailure::KeysUnavailable) => return keys_unavailable(),
    };
    if !auth.overlap_revocation {
        if let Err(refused) = revocation_check(auth, Identity::borrowed(&claims)).await {
            return refused;
        }
        return match admit(auth, Caller::from(claims), request).await {
            Ok(admitted) => admitted.forward(Clearance::granted(), memo, next).await,
            Err(refused) => refused,
        };
    }
    // What the check reads, kept beside the caller the request carries on (not a copy of every
    // claim: this runs for every request of an overlapping host).
    let identity = Identity::of(&claims);
    let admitted = match admit(auth, Caller::from(claims), request).await {
        Ok(admitted) if admitted.calls_tool => admitted,
        Ok(admitted) => {
            if let Err(refused) = revocation_check(auth, identity.borrow()).await {
                return refused;
            }
            return admitted.forward(Clearance::granted(), memo, next).await;
        }
        Err(refused) => {
            return revocation_check(auth, identity.borrow())
                .await
                .err()
                .unwrap_or(refused);
        }
    };
    let (verdict, clearance) = Clearance::pending();
    let check = async {
        let checked = revocation_check(auth, identity.borrow()).await;
        verdict.decide(checked.is_ok());
        checked
    };
    // A tool call is never a `tools/list`: no kept answer to look for.
    let (checked, response) = tokio::join!(check, admitted.forward(clearance, None, next));
    match checked {
        Ok(()) => response,
        Err(refused) => refused,
    }
}

/// What a revocation check reads of a token, owned.
struct Identity {
    jti: String,
    grant_id: Option<String>,
    client_id: String,
    sub: String,
    iat: i64,
}

impl Identity {
    fn of(claims: &AccessClaims) -> Self {
        Self {
            jti: claims.jti.clone(),
            grant_id: claims.grant_id.clone(),
            client_id: claims.client_id.clone(),
            sub: claims.sub.clone(),
            iat: claims.iat,
        }
    }

    fn borrow(&self) -> TokenIdentity<'_> {
        TokenIdentity {
            jti: &self.jti,
            grant_id: self.grant_id.as_deref(),
            client_id: &self.client_id,
            sub: &self.sub,
            iat: self.iat,
        }
    }

    fn borrowed(claims: &AccessClaims) -> TokenIdentity<'_> {
        TokenIdentity {
            jti: &claims.jti,
            grant_id: claims.grant_id.as_deref(),
            client_id: &claims.client_id,
            sub: &claims.sub,
            iat: claims.iat,
        }
    }
}

/// One store read (one request on DynamoDB) for every revocation that could reach the token:
/// `Err` is the 401 of a revoked token or the 503 of a store that did not answer.
async fn revocation_check(
    auth: &Authenticator,
    identity: TokenIdentity<'_>,
) -> Result<(), Response> {
    match auth.revocations.is_revoked(&identity).await {
        Ok(false) => Ok(()),
        Ok(true) => {
            tracing::info!("revoked bearer token refused");
            let revoked = "the access token has been revoked";
            Err(auth.unauthorized(Refusal::RevokedToken, Some(&revoked)))
        }
        Err(e) => {
            tracing::error!(error = %e, "revocation list unavailable");
            metrics::count(Metric::StoreErrors);
            Err(json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the token store is unavailable; try again shortly",
            ))
        }
    }
}

/// A request whose caller has the scopes it needs, with its body read.
struct Admitted {
    parts: Parts,
    body: Bytes,
    caller: Caller,
    calls_tool: bool,
}

impl Admitted {
    /// Hands the request, with its caller and clearance, to the kept `tools/list` answers when
    /// the server has them, else to the service.
    async fn forward(
        self,
        clearance: Clearance,
        memo: Option<&ToolListMemo>,
        next: Next,
    ) -> Response {
        let Self {
            mut parts,
            body,
            caller,
            ..
        } = self;
        tracing::debug!(sub = %caller.sub, client_id = %caller.client_id, "authenticated");
        parts.extensions.insert(caller);
        parts.extensions.insert(clearance);
        match memo {
            Some(memo) => {
                let request = Request::from_parts(parts, Body::from(body.clone()));
                tool_list::answer(memo, request, &body, next).await
            }
            None => next.run(Request::from_parts(parts, Body::from(body))).await,
        }
    }
}

/// The scope checks (the base scope, then the tools a `tools/call` names) and the body read.
async fn admit(
    auth: &Authenticator,
    caller: Caller,
    request: Request,
) -> Result<Admitted, Response> {
    let every_tool = auth.scopes.every_tool();
    if !caller.has_scope(every_tool) {
        return Err(auth.insufficient_scope(&[every_tool]));
    }
    let (parts, body) = request.into_parts();
    let Ok(collected) = Limited::new(body, MAX_BODY_BYTES).collect().await else {
        return Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        ));
    };
    let body = collected.to_bytes();
    let (calls_tool, extra) = tool_calls(&auth.scopes, &body);
    let calls_tool = calls_tool && single_message(&body);
    if extra.iter().any(|s| !caller.has_scope(s)) {
        let mut all = vec![every_tool];
        all.extend(extra);
        return Err(auth.insufficient_scope(&all));
    }
    Ok(Admitted {
        parts,
        body,
        caller,
        calls_tool,
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use shared::oauth::scope;

    use super::*;

    fn cost_policy() -> ScopePolicy {
        ScopePolicy::new(scope::COSTS_READ)
            .tool_scope("get_cost_and_usage_with_resources", scope::COSTS_RESOURCES)
    }

    fn scopes_needed(body: &[u8]) -> Vec<String> {
        super::scopes_needed(&cost_policy(), body)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn only_one_bearer_authorization_header_counts() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn only_a_single_message_may_start_before_the_verdict() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}"#;
        assert!(single_message(call));
        assert!(single_message(b" \n\t{}"));
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}]"#;
        assert!(!single_message(batch));
        assert!(!single_message(b" ["));
        assert!(!single_message(b""));
        assert!(!single_message(b"\"{\""));
    }

    #[test]
    fn tool_calls_needing_more_scopes_are_recognised() {
        let call = |name: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{}}}}}}"#
            )
        };
        assert_eq!(
            scopes_needed(call("get_cost_and_usage_with_resources").as_bytes()),
            [scope::COSTS_RESOURCES]
        );
        assert!(scopes_needed(call("get_cost_and_usage").as_bytes()).is_empty());
        let batch = format!("[{}]", call("get_cost_and_usage_with_resources"));
        assert_eq!(scopes_needed(batch.as_bytes()), [scope::COSTS_RESOURCES]);
        assert!(scopes_needed(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_empty());
        assert!(scopes_needed(b"not json").is_empty());
    }

    #[test]
    fn the_peek_reads_a_body_as_a_full_parse_would() {
        let resources = [scope::COSTS_RESOURCES];
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "an escaped tool name names the same tool",
                r#"{"method":"tools/call","params":{"name":"get_cost_and_usage_with_resource\u0073"}}"#,
                &resources,
            ),
            (
                "escaped keys and method count too",
                r#"{"m\u0065thod":"tools\/call","params":{"n\u0061me":"get_cost_and_usage_with_resources"}}"#,
                &resources,
            ),
            (
                "odd messages in a batch do not hide a call",
                r#"[1, "x", null, [], {"method":5}, {"method":"tools/call","params":[]},
                    {"method":"tools/call","params":{"name":"get_cost_and_usage_with_resources"}}]"#,
                &resources,
            ),
            (
                "a repeated key counts by its last value",
                r#"{"method":"tools/call","params":{"name":"get_cost_and_usage","name":"get_cost_and_usage_with_resources"}}"#,
                &resources,
            ),
            (
                "a repeated key's last value wins even when it is no string",
                r#"{"method":"tools/call","params":{"name":"get_cost_and_usage_with_resources","name":1}}"#,
                &[],
            ),
            (
                "a notification (no id) is read like a request",
                r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"get_cost_and_usage_with_resources"}}"#,
                &resources,
            ),
            (
                "other methods name no tool",
                r#"{"method":"tools/list","params":{"name":"get_cost_and_usage_with_resources"}}"#,
                &[],
            ),
            (
                "a body with trailing garbage is not read",
                r#"{"method":"tools/call","params":{"name":"get_cost_and_usage_with_resources"}} x"#,
                &[],
            ),
            ("a bare string is no message", r#""tools/call""#, &[]),
            ("an empty batch", "[]", &[]),
        ];
        for (what, body, want) in cases {
            assert_eq!(scopes_needed(body.as_bytes()), *want, "{what}");
        }
    }
}
