//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2, OAuth 2.1 §4.1):
//! validation in the order that decides how an error is answered (an HTML page until
//! client_id and redirect_uri are trusted, a redirect to the client after), then the pending
//! request that consent and the upstream login continue.

use serde::Deserialize;
use shared::oauth::client_id::ClientId;
use shared::oauth::client_values::GrantType;
use shared::oauth::pkce::{CodeChallenge, PkceError};
use shared::oauth::redirect_uri::{RedirectUri, set_digest};
use shared::oauth::resource::ResourceUri;
use shared::oauth::scope::Scope;
use shared::secret::random_id;
use shared::store::{ClientRecord, PendingAuthorization, StoreError};

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::approvals::Approvals;
use crate::flows::caller::Caller;
use crate::flows::clients;
use crate::flows::consent::{self, ConsentView};

/// How long a pending authorization waits for consent and login.
pub const PENDING_TTL_SECS: i64 = 600;
/// Longest `state` value kept (it is echoed back to the client).
const MAX_STATE_LEN: usize = 2048;

/// The query of `GET /authorize`, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct AuthorizationParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub resource: Option<String>,
}

/// Where an error goes (STYLE: the redirect-vs-render rule).
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizeError {
    /// client_id or redirect_uri is not trusted: show a page, never redirect.
    Render(OAuthError),
    /// Back to the client's verified redirect_uri with `error`, `state` and `iss`.
    Redirect {
        redirect_uri: RedirectUri,
        state: Option<String>,
        error: OAuthError,
    },
}

impl From<OAuthError> for AuthorizeError {
    /// Infrastructure failures before anything is trusted are shown as a page.
    fn from(error: OAuthError) -> Self {
        Self::Render(error)
    }
}

/// A fully validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: ClientRecord,
    /// Whether the store holds the client yet (a metadata document's client is recorded on its
    /// first authorization request).
    pub client_recorded: bool,
    pub redirect_uri: RedirectUri,
    pub scope: Scope,
    pub resource: ResourceUri,
    pub state: Option<String>,
    pub code_challenge: CodeChallenge,
}

/// Validates the request. Errors before client and redirect URI are verified are `Render`.
///
/// `registered` is the store's answer for the `client_id`, when [`start`] read it already (a
/// registered client's record, read while the rate limit was counted).
pub async fn validate(
    state: &AppState,
    params: AuthorizationParams,
    registered: Option<Result<Option<ClientRecord>, StoreError>>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let render = |d: &'static str| AuthorizeError::Render(OAuthError::invalid_request(d));
    let client_id = params
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| render("client_id is required"))?;
    let clients::Found {
        client,
        recorded: client_recorded,
    } = match ClientId::parse(client_id) {
        Ok(client_id) => clients::find_read(state, &client_id, registered).await?,
        Err(_) => None,
    }
    .ok_or_else(|| render("unknown client_id"))?;
    let requested_uri = params
        .redirect_uri
        .filter(|r| !r.is_empty())
        .ok_or_else(|| render("redirect_uri is required"))?;
    let redirect_uri = RedirectUri::select(&client.metadata.redirect_uris, &requested_uri)
        .ok_or_else(|| render("redirect_uri is not registered for this client"))?;

    // From here on, errors go back to the client.
    let client_state = params.state.filter(|s| !s.is_empty());
    let redirect = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: client_state.clone(),
        error,
    };
    if client_state
        .as_ref()
        .is_some_and(|s| s.len() > MAX_STATE_LEN)
    {
        return Err(AuthorizeError::Redirect {
            redirect_uri,
            state: None,
            error: OAuthError::invalid_request("state is too long"),
        });
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None | Some("") => {
            return Err(redirect(OAuthError::invalid_request(
                "response_type is required",
            )));
        }
        Some(_) => {
            return Err(redirect(OAuthError::UnsupportedResponseType(
                "only response_type=code is supported".into(),
            )));
        }
    }
    if !client.metadata.grant_types.is_empty()
        && !client
            .metadata
            .grant_types
            .contains(&GrantType::AuthorizationCode)
    {
        return Err(redirect(OAuthError::UnauthorizedClient(
            "the client is not registered for the authorization_code grant".into(),
        )));
    }
    let code_challenge = CodeChallenge::parse(
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    )
    .map_err(|e| {
        redirect(OAuthError::invalid_request(match e {
            PkceError::MissingChallenge => "code_challenge is required (PKCE)",
            PkceError::UnsupportedMethod => "code_challenge_method must be S256",
            _ => "code_challenge is malformed",
        }))
    })?;
    match params.resource.as_deref() {
        None | Some("") => {}
        Some(r) if r == state.config.resource => {}
        Some(_) => {
            return Err(redirect(OAuthError::InvalidTarget(
                "resource must be this server's MCP resource".into(),
            )));
        }
    }
    let resource = ResourceUri::parse(&state.config.resource).map_err(|e| {
        tracing::error!(error = %e, "the configured resource is not a resource indicator");
        redirect(OAuthError::ServerError)
    })?;
    let scope = (state.config.scopes)
        .resolve(params.scope.as_deref(), client.metadata.scope.as_deref())
        .map_err(|e| redirect(OAuthError::InvalidScope(e.to_string().into())))?;
    Ok(AuthorizationRequest {
        client,
        client_recorded,
        redirect_uri,
        scope,
        resource,
        state: client_state,
        code_challenge,
    })
}

/// What `/authorize` answers when the request is valid.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Show the consent page; the request is bound to the browser by its CSRF token.
    Consent { view: ConsentView },
    /// This browser already approved the client for these scopes: straight to the upstream
    /// login, the pending request bound to the browser's nonce.
    Login { location: String },
}

/// The whole authorization request (RFC 6749 §4.1.1): the caller's rate limit, validation,
/// the browser's remembered approvals (`approval_cookie`, as sent), the pending request bound
/// to `nonce`, then either the consent page's content or the upstream login.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    params: AuthorizationParams,
    approval_cookie: Option<&str>,
    nonce: &str,
) -> Result<AuthorizeOutcome, AuthorizeError> {
    // A registered client's record is read while the caller's rate limit is counted: only a
    // read, looked at once the limit lets the request through. A client metadata document is
    // fetched only after it (the limit bounds those fetches).
    let registered = params
        .client_id
        .as_deref()
        .and_then(|id| ClientId::parse(id).ok())
        .filter(|id| !id.is_document_url());
    let read = async {
        match &registered {
            Some(id) => Some(state.stores.clients.get(id.as_str()).await),
            None => None,
        }
    };
    let (limited, registered) = tokio::join!(limit_pending(state, caller.ip), read);
    limited?;
    let request = validate(state, params, registered).await?;
    if !request.client_recorded {
        clients::record_first_use(state, &request.client, caller).await;
    }
    let approvals = Approvals::decode(&state.cookie_key, approval_cookie, state.now());
    let approved = approvals.covers(&request.client, &request.scope);
    // Either way the request is bound to this browser's nonce: by the consent form's CSRF
    // token, or (approved already) by the pending request itself.
    let pending = begin(state, &request, approved.then_some(nonce)).await?;
    if approved {
        let location = upstream_login(state, &pending).await?;
        return Ok(AuthorizeOutcome::Login { location });
    }
    let view = consent::view(state, &request.client, &pending, nonce);
    Ok(AuthorizeOutcome::Consent { view })
}

/// Stores the pending request. `approved_in` is the nonce of the browser whose approval cookie
/// already covers it: the request is then approved and bound to that browser.
pub async fn begin(
    state: &AppState,
    request: &AuthorizationRequest,
    approved_in: Option<&str>,
) -> Result<PendingAuthorization, AuthorizeError> {
    let now = state.now();
    let pending = PendingAuthorization {
        id: random_id(),
        client_id: request.client.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.as_str().to_owned(),
        scope: request.scope.clone(),
        resource: request.resource.clone(),
        state: request.state.clone(),
        upstream_nonce: random_id(),
        upstream_verifier: shared::oauth::pkce::CodeVerifier::generate()
            .expose()
            .to_owned(),
        approved_by: approved_in.map(crate::flows::browser::binding),
        redirect_uris_digest: Some(set_digest(&request.client.metadata.redirect_uris)),
        created_at: now,
        expires_at: now + PENDING_TTL_SECS,
    };
    let stored = state
        .stores
        .pending
        .put(&pending)
        .await
        .map_err(|e| redirect_for(request, OAuthError::from(e)))?;
    if !stored {
        return Err(redirect_for(request, OAuthError::ServerError));
    }
    shared::metrics::count(shared::metrics::Metric::AuthorizationsStarted);
    if approved_in.is_some() {
        // Approved by the browser's remembered approval, without a consent page.
        shared::metrics::count(shared::metrics::Metric::AuthorizationsApproved);
    }
    Ok(pending)
}

/// Counts an authorization request from the caller's address against `SMCP_AUTHORIZE_RATE_LIMIT` (per
/// address, IPv6 per /64), before anything is resolved or stored, so one source can neither
/// fill the store with pending requests nor drive metadata document fetches without bound.
/// Past the limit: a page (the caller is a browser; nothing is trusted yet to redirect to).
pub async fn limit_pending(
    state: &AppState,
    caller_ip: Option<std::net::IpAddr>,
) -> Result<(), AuthorizeError> {
    let Some(ip) = crate::flows::rate_limit::source_ip(caller_ip) else {
        return Ok(());
    };
    let limit = state.config.authorize_rate_limit;
    crate::flows::rate_limit::hit(state, "authorize", ip, limit)
        .await
        .map_err(AuthorizeError::Render)
}

/// Where the browser goes to log in for a consented pending request.
pub async fn upstream_login(
    state: &AppState,
    pending: &PendingAuthorization,
) -> Result<String, AuthorizeError> {
    state.upstream.login_url(pending).await.map_err(|e| {
        tracing::error!(error = %e, "upstream login unavailable");
        AuthorizeError::Redirect {
            redirect_uri: pending.redirect_uri.clone(),
            state: pending.state.clone(),
            error: OAuthError::TemporarilyUnavailable,
        }
    })
}

fn redirect_for(request: &AuthorizationRequest, error: OAuthError) -> AuthorizeError {
    AuthorizeError::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        error,
    }
}

/// The client's redirect URI with the given parameters appended (RFC 6749 §4.1.2, RFC 9207:
/// `iss` on every response).
pub fn redirect_with(
    redirect_uri: &RedirectUri,
    issuer: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
) -> String {
    match url::Url::parse(redirect_uri.as_str()) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
                if let Some(s) = state {
                    query.append_pair("state", s);
                }
                query.append_pair("iss", issuer);
            }
            url.into()
        }
        Err(_) => redirect_uri.to_string(),
    }
}

/// The error redirect for `error` (RFC 6749 §4.1.2.1).
pub fn error_redirect(
    redirect_uri: &RedirectUri,
    issuer: &str,
    error: &OAuthError,
    state: Option<&str>,
) -> String {
    let description = error.description();
    redirect_with(
        redirect_uri,
        issuer,
        &[("error", error.code()), ("error_description", &description)],
        state,
    )
}
