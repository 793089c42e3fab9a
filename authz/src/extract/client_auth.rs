//! Client credentials at the token and revocation endpoints (RFC 6749 §2.3.1): HTTP Basic
//! (`client_secret_basic`, with the form-urlencoding of §2.3.1 undone), form fields
//! (`client_secret_post`) and bare `client_id` (`none`) are combined into one
//! [`ClientCredentials`], handed over apart from the rest of the form by [`ClientAuthenticated`].

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shared::secret::Secret;

use crate::error::OAuthError;
use crate::extract::form::OAuthForm;
use crate::flows::client_auth::ClientCredentials;

/// A client-authenticated form request: the credentials (from the Basic header and the form's
/// `client_id`/`client_secret`) and the rest of the form, `T`, which does not carry them.
///
/// The checks run in a fixed order, which the error answers rely on: a malformed Basic header
/// first (`invalid_client`), then a malformed form (`invalid_request`), then how the
/// credentials combine ([`ClientCredentials::from_request`]).
#[derive(Debug)]
pub struct ClientAuthenticated<T> {
    pub credentials: ClientCredentials,
    pub request: T,
}

/// The form as sent: the client fields beside whatever else `T` reads.
#[derive(Deserialize)]
struct WithClientFields<T> {
    client_id: Option<String>,
    client_secret: Option<String>,
    #[serde(flatten)]
    rest: T,
}

impl<S, T> FromRequest<S> for ClientAuthenticated<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let basic = BasicCredentials::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let OAuthForm(form) =
            OAuthForm::<WithClientFields<T>>::from_request(request, state).await?;
        let credentials =
            ClientCredentials::from_request(basic.0, form.client_id, form.client_secret)?;
        Ok(Self {
            credentials,
            request: form.rest,
        })
    }
}

/// The `Authorization: Basic` credentials, if the request carried them.
#[derive(Debug, Default)]
pub struct BasicCredentials(pub Option<(String, Secret)>);

impl<S: Send + Sync> FromRequestParts<S> for BasicCredentials {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self(None));
        };
        let bad = || OAuthError::invalid_client("malformed Basic credentials", true);
        let value = value.to_str().map_err(|_| bad())?;
        let Some((scheme, encoded)) = value.split_once(' ') else {
            return Err(bad());
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(OAuthError::invalid_client(
                "only Basic client authentication is supported in the Authorization header",
                true,
            ));
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
        let id = form_decode(id).ok_or_else(bad)?;
        let secret = form_decode(secret).ok_or_else(bad)?;
        Ok(Self(Some((id, Secret::new(secret)))))
    }
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value.
fn form_decode(raw: &str) -> Option<String> {
    let text = format!("v={raw}");
    let mut pairs = url::form_urlencoded::parse(text.as_bytes());
    let (_, value) = pairs.next()?;
    Some(value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Rest {
        grant_type: Option<String>,
    }

    async fn extract(
        authorization: Option<&str>,
        body: &'static str,
    ) -> Result<ClientAuthenticated<Rest>, OAuthError> {
        let mut request = axum::http::Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request.body(axum::body::Body::from(body)).unwrap();
        ClientAuthenticated::<Rest>::from_request(request, &()).await
    }

    #[tokio::test]
    async fn credentials_and_the_rest_of_the_form_are_apart() {
        let got = extract(None, "grant_type=g&client_id=c&client_secret=s")
            .await
            .unwrap();
        assert!(
            matches!(got.credentials, ClientCredentials::Post { ref client_id, .. } if client_id == "c")
        );
        assert_eq!(got.request.grant_type.as_deref(), Some("g"));
        let basic = format!("Basic {}", STANDARD.encode("c:s"));
        let got = extract(Some(&basic), "grant_type=g").await.unwrap();
        assert!(got.credentials.used_basic());
    }

    #[tokio::test]
    async fn errors_keep_their_order() {
        type Case = (
            &'static str,
            Option<&'static str>,
            &'static str,
            &'static str,
        );
        let cases: [Case; 5] = [
            (
                "malformed Basic before a malformed form",
                Some("Basic !!"),
                "client_id=c&client_id=c",
                "invalid_client",
            ),
            (
                "repeated client_id",
                None,
                "client_id=c&client_id=c",
                "invalid_request",
            ),
            (
                "repeated other parameter",
                None,
                "grant_type=a&grant_type=a&client_id=c",
                "invalid_request",
            ),
            (
                "malformed form before no credentials",
                None,
                "grant_type=a&grant_type=a",
                "invalid_request",
            ),
            ("no credentials", None, "grant_type=a", "invalid_client"),
        ];
        for (what, authorization, body, code) in cases {
            let error = extract(authorization, body).await.unwrap_err();
            assert_eq!(error.code(), code, "{what}");
        }
    }

    #[test]
    fn basic_values_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
    }
}
