//! What the Cognito login trusts of the pool: the discovery document (fetched once, its
//! `issuer` checked, OpenID Connect Discovery §4.3) and ID tokens verified against the pool's
//! JWKS (fetched by `shared::token::fetch`, refetched by the shared rule).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use shared::token::fetch;

use super::{CognitoLogin, ID_TOKEN_USE};
use crate::upstream::UpstreamError;

/// The parts of the OIDC discovery document used here.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Discovery {
    pub(super) issuer: String,
    pub(super) authorization_endpoint: String,
    pub(super) token_endpoint: String,
    pub(super) jwks_uri: String,
}

#[derive(Deserialize)]
pub(super) struct IdClaims {
    pub(super) sub: String,
    #[serde(default)]
    pub(super) token_use: Option<String>,
    #[serde(default)]
    pub(super) nonce: Option<String>,
    #[serde(default)]
    pub(super) email: Option<String>,
    /// The name the user signs in with.
    #[serde(default, rename = "cognito:username")]
    pub(super) username: Option<String>,
    #[serde(default, rename = "cognito:groups")]
    pub(super) groups: Vec<String>,
}

impl CognitoLogin {
    /// The discovery document, fetched once; refused (and not kept) unless its `issuer` is
    /// exactly the expected one, so the endpoints and keys used are the pool's.
    pub(super) async fn discovery(&self) -> Result<&Discovery, UpstreamError> {
        self.discovery
            .get_or_try_init(|| async {
                let discovery: Discovery =
                    fetch::get_json(&self.http, &self.config.discovery_url, "discovery")
                        .await
                        .map_err(|e| UpstreamError::Unavailable(e.0))?;
                if discovery.issuer != self.issuer {
                    return Err(UpstreamError::Unavailable(
                        "the discovery document names another issuer".into(),
                    ));
                }
                Ok(discovery)
            })
            .await
    }

    async fn fetch_jwks(&self, uri: &str) -> Result<JwkSet, UpstreamError> {
        fetch::get_json(&self.http, uri, "jwks")
            .await
            .map_err(|e| UpstreamError::Unavailable(e.0))
    }

    /// The decoding key for `kid`, refetching the JWKS (rate-limited) when it is unknown.
    async fn key_for(&self, jwks_uri: &str, kid: &str) -> Result<DecodingKey, UpstreamError> {
        let (set, generation) = self.jwks.current();
        if let Some(jwk) = set.find(kid) {
            return DecodingKey::from_jwk(jwk)
                .map_err(|_| UpstreamError::Rejected("unusable ID token key"));
        }
        let fetch = || self.fetch_jwks(jwks_uri);
        if !self
            .jwks
            .refresh(generation, self.clock.now(), fetch)
            .await?
        {
            return Err(UpstreamError::Rejected("ID token signed by an unknown key"));
        }
        let (set, _) = self.jwks.current();
        set.find(kid)
            .map(DecodingKey::from_jwk)
            .transpose()
            .map_err(|_| UpstreamError::Rejected("unusable ID token key"))?
            .ok_or(UpstreamError::Rejected("ID token signed by an unknown key"))
    }

    /// Verifies the ID token: RS256 signature by a pool key, `iss`, `aud`, `exp`, `nonce`, and
    /// `token_use` = `id` (a Cognito access token is signed by the same keys).
    pub(super) async fn verify_id_token(
        &self,
        discovery: &Discovery,
        token: &str,
        nonce: &str,
    ) -> Result<IdClaims, UpstreamError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| UpstreamError::Rejected("malformed ID token"))?;
        if header.alg != Algorithm::RS256 {
            return Err(UpstreamError::Rejected("ID token algorithm is not RS256"));
        }
        let kid = header
            .kid
            .ok_or(UpstreamError::Rejected("ID token has no key id"))?;
        let key = self.key_for(&discovery.jwks_uri, &kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|_| UpstreamError::Rejected("ID token does not verify"))?;
        let claims = data.claims;
        if claims.token_use.as_deref() != Some(ID_TOKEN_USE) {
            return Err(UpstreamError::Rejected("the token is not an ID token"));
        }
        let nonce_ok = claims
            .nonce
            .as_deref()
            .is_some_and(|n| shared::secret::constant_time_eq(n.as_bytes(), nonce.as_bytes()));
        if !nonce_ok {
            return Err(UpstreamError::Rejected("ID token nonce does not match"));
        }
        if claims.sub.is_empty() {
            return Err(UpstreamError::Rejected("ID token has no subject"));
        }
        Ok(claims)
    }
}
