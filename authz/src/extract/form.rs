//! `OAuthForm<T>`: an `application/x-www-form-urlencoded` body whose rejection is an OAuth
//! `invalid_request` (RFC 6749 §3.2, §4.1.3) instead of axum's plain-text 4xx. Duplicate
//! parameters are refused, as RFC 6749 §3.1 requires.

use axum::Form;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::OAuthError;

pub struct OAuthForm<T>(pub T);

impl<S, T> FromRequest<S> for OAuthForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(value)) => Ok(Self(value)),
            Err(rejection) => Err(OAuthError::invalid_request(describe(&rejection))),
        }
    }
}

fn describe(rejection: &axum::extract::rejection::FormRejection) -> &'static str {
    use axum::extract::rejection::FormRejection as R;
    match rejection {
        R::InvalidFormContentType(_) => "the body must be application/x-www-form-urlencoded",
        R::FailedToDeserializeForm(_) | R::FailedToDeserializeFormBody(_) => {
            "the form has a malformed or repeated parameter"
        }
        _ => "the request body could not be read",
    }
}
