//! The one catalogue of OAuth errors the authorization server answers with (RFC 6749 §5.2,
//! RFC 7591 §3.2.2, RFC 7009 §2.2.1, RFC 8707 §2, RFC 6750 §3.1) and how each is written:
//! JSON `{error, error_description}` with `Cache-Control: no-store`.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shared::store::StoreError;
use shared::token::SignError;

type Description = Cow<'static, str>;

/// An OAuth error; descriptions are our own words and never echo secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest(Description),
    /// Client authentication failed; `basic` when the client tried HTTP Basic, so the answer
    /// carries a `WWW-Authenticate: Basic` challenge.
    InvalidClient {
        description: Description,
        basic: bool,
    },
    InvalidGrant(Description),
    UnauthorizedClient(Description),
    UnsupportedGrantType(Description),
    UnsupportedResponseType(Description),
    InvalidScope(Description),
    InvalidTarget(Description),
    AccessDenied(Description),
    InvalidRedirectUri(Description),
    InvalidClientMetadata(Description),
    /// A registration access token (RFC 7592) or bearer credential was missing or wrong.
    InvalidToken(Description),
    /// Too many requests from one source; retry after the given seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// A dependency (store, upstream, key service) is unavailable; nothing was issued.
    TemporarilyUnavailable,
    /// A bug or an unexpected state; the cause is logged where it happened.
    ServerError,
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<Description>) -> Self {
        Self::InvalidRequest(description.into())
    }

    pub fn invalid_grant(description: impl Into<Description>) -> Self {
        Self::InvalidGrant(description.into())
    }

    pub fn invalid_client(description: impl Into<Description>, basic: bool) -> Self {
        Self::InvalidClient {
            description: description.into(),
            basic,
        }
    }

    pub fn invalid_client_metadata(description: impl Into<Description>) -> Self {
        Self::InvalidClientMetadata(description.into())
    }

    pub fn invalid_redirect_uri(description: impl Into<Description>) -> Self {
        Self::InvalidRedirectUri(description.into())
    }

    /// The RFC error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::UnsupportedResponseType(_) => "unsupported_response_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::AccessDenied(_) => "access_denied",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
            Self::InvalidToken(_) => "invalid_token",
            Self::RateLimited { .. } => "too_many_requests",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
        }
    }

    /// The HTTP status for a JSON answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidClient { .. } | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The human-readable description.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Self::InvalidRequest(d)
            | Self::InvalidClient { description: d, .. }
            | Self::InvalidGrant(d)
            | Self::UnauthorizedClient(d)
            | Self::UnsupportedGrantType(d)
            | Self::UnsupportedResponseType(d)
            | Self::InvalidScope(d)
            | Self::InvalidTarget(d)
            | Self::AccessDenied(d)
            | Self::InvalidRedirectUri(d)
            | Self::InvalidClientMetadata(d)
            | Self::InvalidToken(d) => d.clone(),
            Self::RateLimited { retry_after_secs } => {
                format!("too many requests; retry after {retry_after_secs} seconds").into()
            }
            Self::TemporarilyUnavailable => {
                "the service is temporarily unavailable; try again shortly".into()
            }
            Self::ServerError => "the server could not complete the request".into(),
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error, "store failure");
        shared::metrics::count(shared::metrics::Metric::StoreErrors);
        Self::TemporarilyUnavailable
    }
}

impl From<SignError> for OAuthError {
    fn from(error: SignError) -> Self {
        tracing::error!(error = %error, "signing failure");
        match error {
            SignError::Unavailable(_) => Self::TemporarilyUnavailable,
            SignError::Failed(_) => Self::ServerError,
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Headers every OAuth JSON answer carries (RFC 6749 §5.1).
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let description = self.description();
        let mut response = (
            self.status(),
            Json(Body {
                error: self.code(),
                error_description: &description,
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        no_store(headers);
        match &self {
            Self::InvalidClient { basic: true, .. } => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"token\", charset=\"UTF-8\""),
                );
            }
            Self::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            Self::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn json_shape_and_no_store() {
        let response = OAuthError::invalid_grant("code expired").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            body(response).await,
            serde_json::json!({"error": "invalid_grant", "error_description": "code expired"})
        );
    }

    #[tokio::test]
    async fn invalid_client_with_basic_challenges() {
        let response = OAuthError::invalid_client("wrong secret", true).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        let post = OAuthError::invalid_client("wrong secret", false).into_response();
        assert!(post.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[tokio::test]
    async fn rate_limited_says_when_to_retry() {
        let response = OAuthError::RateLimited {
            retry_after_secs: 42,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
    }

    #[tokio::test]
    async fn store_failures_are_temporarily_unavailable() {
        let error = OAuthError::from(StoreError::Unavailable("down".into()));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body(response).await["error"], "temporarily_unavailable");
    }
}
