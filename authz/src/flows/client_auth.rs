//! Authenticating the client at `/token` and `/revoke` (RFC 6749 §2.3, §3.2.1): public clients
//! (`none`) by id alone, confidential ones by secret, compared in constant time against the
//! stored hash. Failures are `invalid_client` (401, with a Basic challenge when Basic was used).

use shared::oauth::client_id::ClientId;
use shared::store::ClientRecord;

use crate::AppState;
use crate::error::OAuthError;
use crate::flows::clients;
use shared::secret::Secret;

pub async fn authenticate(
    state: &AppState,
    credentials: &ClientCredentials,
) -> Result<ClientRecord, OAuthError> {
    let basic = credentials.used_basic();
    let fail = |d: &'static str| OAuthError::invalid_client(d, basic);
    let client = clients::resolve(state, credentials.client_id())
        .await?
        .ok_or_else(|| fail("client authentication failed"))?;
    let confidential = client.metadata.token_endpoint_auth_method.is_confidential();
    match (credentials, confidential, client.secret_hash.as_ref()) {
        (ClientCredentials::None { .. }, false, _) => Ok(client),
        (ClientCredentials::None { .. }, true, _) => Err(fail(
            "client authentication failed: a client secret is required",
        )),
        (
            ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. },
            true,
            Some(hash),
        ) if secret.matches(hash) => Ok(client),
        (_, true, _) => Err(fail("client authentication failed")),
        (_, false, _) => Err(fail(
            "client authentication failed: this public client has no secret",
        )),
    }
}

/// How the client identified itself.
#[derive(Debug)]
pub enum ClientCredentials {
    Basic {
        client_id: ClientId,
        secret: Secret,
    },
    Post {
        client_id: ClientId,
        secret: Secret,
    },
    /// A public client: only its id.
    None {
        client_id: ClientId,
    },
}

impl ClientCredentials {
    /// Combines the header and the form fields; exactly one method must be used. A client_id
    /// no client can have ([`ClientId::parse`]) fails authentication.
    pub fn from_request(
        basic: Option<(String, Secret)>,
        form_client_id: Option<String>,
        form_secret: Option<String>,
    ) -> Result<Self, OAuthError> {
        let form_client_id = form_client_id.filter(|c| !c.is_empty());
        let form_secret = form_secret.filter(|s| !s.is_empty());
        match (basic, form_client_id, form_secret) {
            (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            )),
            (Some((client_id, _)), Some(form_id), None) if form_id != client_id => Err(
                OAuthError::invalid_request("client_id differs from the Basic credentials"),
            ),
            (Some((client_id, secret)), _, None) => Ok(Self::Basic {
                client_id: parse_id(&client_id, true)?,
                secret,
            }),
            (None, Some(client_id), Some(secret)) => Ok(Self::Post {
                client_id: parse_id(&client_id, false)?,
                secret: Secret::new(secret),
            }),
            (None, Some(client_id), None) => Ok(Self::None {
                client_id: parse_id(&client_id, false)?,
            }),
            (None, None, _) => Err(OAuthError::invalid_client(
                "client authentication is required",
                false,
            )),
        }
    }

    pub fn client_id(&self) -> &ClientId {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::None { client_id } => client_id,
        }
    }

    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

/// The client_id as sent, checked once; `invalid_client` when no client can have it.
fn parse_id(client_id: &str, basic: bool) -> Result<ClientId, OAuthError> {
    ClientId::parse(client_id)
        .map_err(|_| OAuthError::invalid_client("client authentication failed", basic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_method() {
        let basic = || Some(("c".to_owned(), Secret::new("s")));
        type Case = (
            &'static str,
            Option<(String, Secret)>,
            Option<&'static str>,
            Option<&'static str>,
            Result<&'static str, &'static str>,
        );
        let cases: Vec<Case> = vec![
            ("basic", basic(), None, None, Ok("basic")),
            (
                "basic with matching id",
                basic(),
                Some("c"),
                None,
                Ok("basic"),
            ),
            (
                "basic with other id",
                basic(),
                Some("d"),
                None,
                Err("invalid_request"),
            ),
            (
                "basic and post",
                basic(),
                Some("c"),
                Some("s"),
                Err("invalid_request"),
            ),
            ("post", None, Some("c"), Some("s"), Ok("post")),
            ("none", None, Some("c"), None, Ok("none")),
            ("nothing", None, None, None, Err("invalid_client")),
            (
                "over-long id",
                None,
                Some(Box::leak(
                    "c".repeat(ClientId::MAX_LEN + 1).into_boxed_str(),
                )),
                None,
                Err("invalid_client"),
            ),
        ];
        for (what, b, id, secret, want) in cases {
            let got =
                ClientCredentials::from_request(b, id.map(Into::into), secret.map(Into::into));
            match (got, want) {
                (Ok(ClientCredentials::Basic { .. }), Ok("basic"))
                | (Ok(ClientCredentials::Post { .. }), Ok("post"))
                | (Ok(ClientCredentials::None { .. }), Ok("none")) => {}
                (Err(e), Err(code)) => assert_eq!(e.code(), code, "{what}"),
                (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
            }
        }
    }
}
