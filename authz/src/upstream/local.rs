//! The embedded login (docs/architecture.md, the login adapters): users kept in the store with
//! Argon2id hashes, a login page served by this server, and a one-time assertion handed to
//! `/callback` in place of an upstream code, MAC-bound to the pending request and its secret nonce.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::clock::Clock;
use shared::secret::Secret;
use shared::store::{GrantRecord, LoginUser, PendingAuthorization, StoreError, Stores};

use super::{IdentityProvider, UpstreamError, UpstreamIdentity, UserDirectory, UserStatus};
use crate::cookie_key::CookieKey;

/// How long the login assertion is valid on its way to `/callback`.
const ASSERTION_TTL_SECS: i64 = 120;
const PURPOSE: &str = "login-assertion";

/// The embedded identity provider.
pub struct LocalLogin {
    issuer: String,
    stores: Stores,
    clock: Arc<dyn Clock>,
    key: Arc<CookieKey>,
}

impl LocalLogin {
    pub fn new(issuer: String, stores: Stores, clock: Arc<dyn Clock>, key: Arc<CookieKey>) -> Self {
        Self {
            issuer,
            stores,
            clock,
            key,
        }
    }

    /// The user with these credentials, if the password is right and the user enabled. Unknown
    /// users cost the same hashing time as known ones.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Option<LoginUser>, StoreError> {
        let user = self.stores.login_users.get(username).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
        let password = password.clone();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        Ok(user.filter(|u| ok && u.enabled))
    }

    /// The one-time value the login page hands to `/callback` as `code`.
    pub fn assertion(&self, pending: &PendingAuthorization, user: &LoginUser) -> String {
        let exp = self
            .clock
            .now()
            .saturating_add(ASSERTION_TTL_SECS)
            .to_string();
        let payload = URL_SAFE_NO_PAD.encode(format!("{}\n{exp}", user.username));
        let mac = self
            .key
            .mac(PURPOSE, &[&pending.id, &pending.upstream_nonce, &payload]);
        format!("{payload}.{mac}")
    }
}

#[async_trait]
impl IdentityProvider for LocalLogin {
    async fn login_url(&self, pending: &PendingAuthorization) -> Result<String, UpstreamError> {
        let mut url = url::Url::parse(&format!("{}/login", self.issuer))
            .map_err(|_| UpstreamError::Unavailable("issuer is not a URL".into()))?;
        url.query_pairs_mut().append_pair("request", &pending.id);
        Ok(url.into())
    }

    async fn exchange(
        &self,
        code: &str,
        pending: &PendingAuthorization,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let (payload, mac) = code
            .split_once('.')
            .ok_or(UpstreamError::Rejected("malformed login assertion"))?;
        if !self.key.verify(
            PURPOSE,
            &[&pending.id, &pending.upstream_nonce, payload],
            mac,
        ) {
            return Err(UpstreamError::Rejected("login assertion does not verify"));
        }
        let decoded = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(UpstreamError::Rejected("malformed login assertion"))?;
        let (username, exp) = decoded
            .split_once('\n')
            .ok_or(UpstreamError::Rejected("malformed login assertion"))?;
        let exp: i64 = exp
            .parse()
            .map_err(|_| UpstreamError::Rejected("malformed login assertion"))?;
        if exp <= self.clock.now() {
            return Err(UpstreamError::Rejected("login assertion expired"));
        }
        let user = self
            .stores
            .login_users
            .get(username)
            .await
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?
            .filter(|u| u.enabled)
            .ok_or(UpstreamError::Rejected("the user is not enabled"))?;
        Ok(UpstreamIdentity {
            sub: user.sub,
            username: Some(user.username),
            email: None,
            groups: user.groups,
            session: None,
        })
    }
}

/// The embedded directory: a user is active while stored and enabled. `sub` is the username.
pub struct LocalDirectory {
    stores: Stores,
}

impl LocalDirectory {
    pub fn new(stores: Stores) -> Self {
        Self { stores }
    }
}

#[async_trait]
impl UserDirectory for LocalDirectory {
    async fn status(&self, grant: &GrantRecord) -> Result<UserStatus, UpstreamError> {
        let sub = grant.sub.as_str();
        let user = self
            .stores
            .login_users
            .get(sub)
            .await
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        Ok(match user {
            Some(user) if user.enabled && user.sub == sub => UserStatus::Active {
                groups: user.groups,
            },
            _ => UserStatus::Gone,
        })
    }
}

/// Argon2id (default parameters: 19 MiB, 2 passes) PHC string of `password`.
pub fn hash_password(password: &Secret) -> Result<String, &'static str> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| "no randomness for the salt")?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| "cannot encode the salt")?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| "cannot hash the password")
}

fn verify_password(password: &Secret, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok()
    })
}

/// Hash of a random password nobody knows: verified against when the username is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$3mZ7d0ZC1vPqU3t5pQ0Kqw$3Nq3s9nZ6k0VJmL0mF3rQk6w7yq2m1B4yM0cJ9r3x8E";

/// Why a user could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error("usernames are 1 to 64 characters of letters, digits, '.', '_', '-' and '@'")]
    BadUsername,
    #[error("passwords are 12 to 1024 characters")]
    WeakPassword,
    #[error("user {0:?} already exists")]
    Taken(String),
    #[error("{0}")]
    Hashing(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `password` is acceptable for the embedded login: 12 to 1024 characters.
pub fn check_password(password: &Secret) -> Result<(), AddUserError> {
    if (12..=1024).contains(&password.expose().chars().count()) {
        Ok(())
    } else {
        Err(AddUserError::WeakPassword)
    }
}

/// Adds an enabled user of the embedded login.
pub async fn add_user(
    stores: &Stores,
    username: &str,
    password: &Secret,
    groups: Vec<String>,
    now: i64,
) -> Result<LoginUser, AddUserError> {
    let valid_name = (1..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if !valid_name {
        return Err(AddUserError::BadUsername);
    }
    let password_hash = hash_checked(password).await?;
    let user = LoginUser {
        username: username.to_owned(),
        sub: username.to_owned(),
        password_hash,
        groups,
        enabled: true,
        created_at: now,
    };
    if stores.login_users.create(&user).await? {
        Ok(user)
    } else {
        Err(AddUserError::Taken(username.to_owned()))
    }
}

/// The Argon2id hash of a password of acceptable length (hashed off the async threads).
async fn hash_checked(password: &Secret) -> Result<String, AddUserError> {
    check_password(password)?;
    let secret = password.clone();
    tokio::task::spawn_blocking(move || hash_password(&secret))
        .await
        .map_err(|_| AddUserError::Hashing("hashing task failed"))?
        .map_err(AddUserError::Hashing)
}

/// On first start of the embedded mode: when no user exists, creates `dev` with a random
/// password and returns the credentials (shown once). `None` when users already exist.
pub async fn ensure_dev_user(
    stores: &Stores,
    now: i64,
) -> Result<Option<(String, Secret)>, AddUserError> {
    if stores.login_users.any().await? {
        return Ok(None);
    }
    let password = Secret::generate();
    match add_user(stores, "dev", &password, Vec::new(), now).await {
        Ok(_) => Ok(Some(("dev".to_owned(), password))),
        // Another process created it first.
        Err(AddUserError::Taken(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password(&Secret::new("correct horse battery")).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(
            &Secret::new("correct horse battery"),
            &hash
        ));
        assert!(!verify_password(
            &Secret::new("correct horse battery!"),
            &hash
        ));
        assert!(!verify_password(&Secret::new("x"), "not a phc string"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
