//! The token request (RFC 6749 §3.2, §4.1.3, §6): a flat form, then a closed enum of validated
//! grants so each problem maps to its RFC error; [`handle`] authenticates the client and runs
//! the grant.

use serde::Deserialize;
use shared::oauth::pkce::CodeVerifier;
use shared::secret::Secret;

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::authorization_code::{self, TokenResponse};
use crate::flows::caller::Caller;
use crate::flows::client_auth::{self, ClientCredentials};
use crate::flows::refresh_token;

/// The whole token request: client authentication (RFC 6749 §3.2.1) first, then the grant's
/// own validation and exchange, so an unauthenticated client learns nothing about its grant.
/// The grant's first read (the code or the refresh token's grant) runs beside the client's: it
/// is only a read, and nothing of it is looked at, or written, before the client is
/// authenticated.
pub async fn handle(
    state: &AppState,
    credentials: &ClientCredentials,
    params: TokenParams,
    caller: &Caller,
) -> Result<TokenResponse, OAuthError> {
    let authenticate = client_auth::authenticate(state, credentials);
    match TokenRequest::try_from(params) {
        Err(invalid) => {
            authenticate.await?;
            Err(invalid)
        }
        Ok(TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
            resource,
        }) => {
            let (client, peeked) =
                tokio::join!(authenticate, authorization_code::peek(state, &code));
            authorization_code::exchange(
                state,
                &client?,
                peeked,
                &code,
                &redirect_uri,
                &verifier,
                resource.as_deref(),
                caller,
            )
            .await
        }
        Ok(TokenRequest::RefreshToken {
            refresh_token,
            scope,
            resource,
        }) => {
            let (client, grant) =
                tokio::join!(authenticate, refresh_token::lookup(state, &refresh_token));
            refresh_token::refresh(
                state,
                &client?,
                grant,
                &refresh_token,
                scope.as_deref(),
                resource.as_deref(),
                caller,
            )
            .await
        }
    }
}

/// The form of `POST /token`, as sent.
#[derive(Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

impl std::fmt::Debug for TokenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenParams")
            .field("grant_type", &self.grant_type)
            .finish_non_exhaustive()
    }
}

/// A validated grant.
#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: Secret,
        redirect_uri: String,
        verifier: CodeVerifier,
        resource: Option<String>,
    },
    RefreshToken {
        refresh_token: Secret,
        scope: Option<String>,
        resource: Option<String>,
    },
}

fn required(value: Option<String>, name: &'static str) -> Result<String, OAuthError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

impl TryFrom<TokenParams> for TokenRequest {
    type Error = OAuthError;

    fn try_from(params: TokenParams) -> Result<Self, Self::Error> {
        let resource = params.resource.filter(|r| !r.is_empty());
        match params.grant_type.as_deref() {
            None | Some("") => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => {
                let code = Secret::new(required(params.code, "code")?);
                let redirect_uri = required(params.redirect_uri, "redirect_uri")?;
                let verifier =
                    CodeVerifier::parse(&required(params.code_verifier, "code_verifier")?)
                        .map_err(|_| {
                            OAuthError::invalid_grant(
                                "code_verifier does not match the code_challenge",
                            )
                        })?;
                Ok(Self::AuthorizationCode {
                    code,
                    redirect_uri,
                    verifier,
                    resource,
                })
            }
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: Secret::new(required(params.refresh_token, "refresh_token")?),
                scope: params.scope.filter(|s| !s.is_empty()),
                resource,
            }),
            Some(_) => Err(OAuthError::UnsupportedGrantType(
                "grant_type must be authorization_code or refresh_token".into(),
            )),
        }
    }
}
