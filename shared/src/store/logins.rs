//! Users of the embedded login page: the record, its port and its item mapping
//! (`LOGIN#<username>` / `LOGIN`, listed by username on GSI1 under `LOGINS`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::item::{Condition, Index, Item};
use super::item_store::{ItemStore, encode};
use super::{Page, PageRequest, StoreError};

/// A user of the embedded login (`LOGIN#<username>` / `LOGIN`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginUser {
    pub username: String,
    /// The stable user id put in tokens (`sub`).
    pub sub: String,
    /// Argon2id PHC string; never the password.
    pub password_hash: String,
    pub groups: Vec<String>,
    pub enabled: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for LoginUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginUser")
            .field("username", &self.username)
            .field("sub", &self.sub)
            .field("password_hash", &"[redacted]")
            .field("groups", &self.groups)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Users of the embedded login page.
#[async_trait]
pub trait LoginUserStore: Send + Sync {
    /// Stores a new user; `false` if the username is taken (nothing written).
    async fn create(&self, user: &LoginUser) -> Result<bool, StoreError>;
    async fn get(&self, username: &str) -> Result<Option<LoginUser>, StoreError>;
    /// Replaces an existing user (password, groups, enabled); `false` if there is none.
    async fn update(&self, user: &LoginUser) -> Result<bool, StoreError>;
    /// Deletes a user (the login record only: grants and consents are the caller's to revoke);
    /// `false` if there was none.
    async fn delete(&self, username: &str) -> Result<bool, StoreError>;
    /// Whether any user exists (first start creates a dev user when none does).
    async fn any(&self) -> Result<bool, StoreError>;
    /// Lists users ordered by username.
    async fn list(&self, page: &PageRequest) -> Result<Page<LoginUser>, StoreError>;
}

fn login_key(username: &str) -> (String, String) {
    (format!("LOGIN#{username}"), "LOGIN".into())
}

fn login_item(user: &LoginUser) -> Result<Item, StoreError> {
    let (pk, sk) = login_key(&user.username);
    encode(pk, sk, Some(("LOGINS".into(), user.username.clone())), user)
}

#[async_trait]
impl LoginUserStore for ItemStore {
    async fn create(&self, user: &LoginUser) -> Result<bool, StoreError> {
        let item = login_item(user)?;
        self.backend.put(&item, Condition::Absent, self.now()).await
    }

    async fn get(&self, username: &str) -> Result<Option<LoginUser>, StoreError> {
        let (pk, sk) = login_key(username);
        self.get_record(&pk, &sk).await
    }

    async fn update(&self, user: &LoginUser) -> Result<bool, StoreError> {
        let item = login_item(user)?;
        let guard = Condition::Equals("username", Value::from(user.username.clone()));
        self.backend.put(&item, guard, self.now()).await
    }

    async fn delete(&self, username: &str) -> Result<bool, StoreError> {
        let (pk, sk) = login_key(username);
        self.backend.delete(&pk, &sk, self.now()).await
    }

    async fn any(&self) -> Result<bool, StoreError> {
        let found = self
            .backend
            .query(Index::Gsi1, "LOGINS", "", None, 1, self.now())
            .await?;
        Ok(!found.is_empty())
    }

    async fn list(&self, page: &PageRequest) -> Result<Page<LoginUser>, StoreError> {
        self.list(Index::Gsi1, vec!["LOGINS".into()], "", page)
            .await
    }
}
