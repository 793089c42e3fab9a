//! What the identity provider said about each user at their latest sign-in, so that operators
//! see people by name and address rather than by `sub` alone: the record, its port and its item
//! mapping (`USER#<sub>` / `PROFILE`, beside the user's consents).

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::item::MAX_BATCH_READS;
use super::item_store::{ItemStore, decode, encode};

/// A user as their latest sign-in described them (`USER#<sub>` / `PROFILE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub sub: String,
    /// The name the user signs in with (Cognito's `cognito:username`, the embedded login's
    /// username).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The groups the sign-in carried.
    #[serde(default)]
    pub groups: Vec<String>,
    pub last_login_at: i64,
}

/// Users as their latest sign-in described them.
#[async_trait]
pub trait UserProfileStore: Send + Sync {
    /// Records (or replaces) what the latest sign-in said.
    async fn put(&self, profile: &UserProfile) -> Result<(), StoreError>;
    /// The profiles of `subs` that have one, by `sub` (one batched read per
    /// [`MAX_BATCH_READS`] users).
    async fn get_many(&self, subs: &[String]) -> Result<HashMap<String, UserProfile>, StoreError>;
}

fn profile_key(sub: &str) -> (String, String) {
    (format!("USER#{sub}"), "PROFILE".into())
}

#[async_trait]
impl UserProfileStore for ItemStore {
    async fn put(&self, profile: &UserProfile) -> Result<(), StoreError> {
        let (pk, sk) = profile_key(&profile.sub);
        self.put_always(&encode(pk, sk, None, profile)?).await
    }

    async fn get_many(&self, subs: &[String]) -> Result<HashMap<String, UserProfile>, StoreError> {
        let mut keys: Vec<(String, String)> = subs.iter().map(|s| profile_key(s)).collect();
        keys.sort();
        keys.dedup();
        let mut found = HashMap::new();
        for chunk in keys.chunks(MAX_BATCH_READS) {
            for item in self.backend().get_many(chunk, self.now()).await? {
                let profile: UserProfile = decode(item)?;
                found.insert(profile.sub.clone(), profile);
            }
        }
        Ok(found)
    }
}
