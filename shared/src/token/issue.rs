//! Minting access tokens: the RFC 9068 JWT profile (§2), header `{"alg":"RS256","typ":"at+jwt",
//! "kid":…}`, signed by whichever [`Signer`] holds the key.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::ACCESS_TOKEN_TYPE;
use super::claims::AccessClaims;
use super::jwks::JwkSet;
use super::signer::{SignError, Signer};
use crate::secret::{Secret, random_id};

/// Issues access tokens for one resource.
pub struct TokenIssuer {
    signer: Arc<dyn Signer>,
    issuer: String,
    audience: String,
    lifetime_secs: i64,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

impl TokenIssuer {
    /// `issuer` is the authorization server's issuer identifier, `audience` the resource URL,
    /// `lifetime_secs` how long tokens stay valid (validated by configuration: at most an hour).
    pub fn new(
        signer: Arc<dyn Signer>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        lifetime_secs: i64,
    ) -> Self {
        Self {
            signer,
            issuer: issuer.into(),
            audience: audience.into(),
            lifetime_secs,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn lifetime_secs(&self) -> i64 {
        self.lifetime_secs
    }

    /// The keys to publish at the JWKS endpoint.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.signer.public_jwks(),
        }
    }

    /// A signed access token for `sub` (the upstream user) acting through `client_id`, valid from
    /// `now` for the configured lifetime, with a fresh random `jti`. Returns the compact JWT and
    /// the claims it carries.
    pub async fn mint(
        &self,
        sub: &str,
        client_id: &str,
        scope: &str,
        groups: &[String],
        now: i64,
    ) -> Result<(Secret, AccessClaims), SignError> {
        self.mint_with(None, sub, client_id, scope, groups, now)
            .await
    }

    /// As [`TokenIssuer::mint`], for a token issued from the grant `grant_id` (its `grant_id`
    /// claim), which revoking the grant then reaches.
    pub async fn mint_in_grant(
        &self,
        grant_id: &str,
        sub: &str,
        client_id: &str,
        scope: &str,
        groups: &[String],
        now: i64,
    ) -> Result<(Secret, AccessClaims), SignError> {
        self.mint_with(Some(grant_id), sub, client_id, scope, groups, now)
            .await
    }

    async fn mint_with(
        &self,
        grant_id: Option<&str>,
        sub: &str,
        client_id: &str,
        scope: &str,
        groups: &[String],
        now: i64,
    ) -> Result<(Secret, AccessClaims), SignError> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: sub.to_owned(),
            aud: self.audience.clone(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            iat: now,
            exp: now.saturating_add(self.lifetime_secs),
            nbf: None,
            jti: random_id(),
            grant_id: grant_id.map(str::to_owned),
            groups: groups.to_vec(),
        };
        let header = Header {
            alg: "RS256",
            typ: ACCESS_TOKEN_TYPE,
            kid: self.signer.kid(),
        };
        let header = serde_json::to_vec(&header)
            .map_err(|_| SignError::Failed("encoding the token header failed"))?;
        let payload = serde_json::to_vec(&claims)
            .map_err(|_| SignError::Failed("encoding the token claims failed"))?;

        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 350 + 2);
        URL_SAFE_NO_PAD.encode_string(&header, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = self.signer.sign(token.as_bytes()).await?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok((Secret::new(token), claims))
    }
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.signer.kid())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("lifetime_secs", &self.lifetime_secs)
            .finish()
    }
}
