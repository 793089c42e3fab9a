//! Client credentials at the token and revocation endpoints (RFC 6749 §2.3.1): HTTP Basic
//! (`client_secret_basic`, with the form-urlencoding of §2.3.1 undone), form fields
//! (`client_secret_post`) and bare `client_id` (`none`) are combined with it in
//! [`crate::flows::client_auth::ClientCredentials`].

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use shared::secret::Secret;

use crate::error::OAuthError;

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

    #[test]
    fn basic_values_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
    }
}
