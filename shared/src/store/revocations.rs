//! The revocation list: what a revocation reaches, its port and its item mapping. One item per
//! revoked token, grant, client or user (`REVOKED#<jti>`, `REVOKEDGRANT#<id>`,
//! `REVOKEDCLIENT#<id>`, `REVOKEDUSER#<sub>`), read by the resource server on every request.
//! These keys are the only ones the mcp function's role may read besides its cache and budget
//! items: keep their prefix.
//!
//! On a backend with a commit mark (the SQLite file), a token found not revoked is not read again
//! until something is committed ([`NotRevoked`]).

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use serde_json::Value;

use super::StoreError;
use super::item::{CommitMark, Condition, Item};
use super::item_store::ItemStore;

/// What a revocation reaches: one access token, or every access token issued (at or before the
/// revocation) from a grant, to a client, or for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked<'a> {
    /// The access token with this `jti`.
    Token(&'a str),
    /// Every access token issued from this grant (the `grant_id` claim).
    Grant(&'a str),
    /// Every access token issued to this client.
    Client(&'a str),
    /// Every access token issued for this user (`sub`).
    User(&'a str),
}

/// What the resource server knows of a verified access token, as [`RevocationList::is_revoked`]
/// needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenIdentity<'a> {
    pub jti: &'a str,
    /// Tokens issued before grants were named in tokens carry none.
    pub grant_id: Option<&'a str>,
    pub client_id: &'a str,
    pub sub: &'a str,
    /// Issued at (epoch seconds).
    pub iat: i64,
}

/// Revocations of access tokens, kept until every token they reach has expired
/// (`REVOKED#<jti>`, `REVOKEDGRANT#<id>`, `REVOKEDCLIENT#<id>`, `REVOKEDUSER#<sub>`, sort key
/// `REVOKED`); the resource server consults them on every request.
#[async_trait]
pub trait RevocationList: Send + Sync {
    /// Revokes what `what` names, for tokens issued at or before now; the entry is kept until
    /// `keep_until` (epoch seconds), which must be at least the latest expiry, leeway included,
    /// of a token it reaches. Idempotent; a later revocation of the same thing moves its
    /// instant forward.
    async fn revoke(&self, what: Revoked<'_>, keep_until: i64) -> Result<(), StoreError>;
    /// Whether any revocation reaches the token: its `jti`, its grant, its client or its user
    /// revoked at or after it was issued. One read of at most four keys (a single request on
    /// DynamoDB), so checking costs one round trip; none when the backend shows nothing was
    /// committed since the same token was found not revoked ([`NotRevoked`]).
    async fn is_revoked(&self, token: &TokenIdentity<'_>) -> Result<bool, StoreError>;
}

fn revocation_key(what: Revoked<'_>) -> (String, String) {
    let pk = match what {
        Revoked::Token(jti) => format!("REVOKED#{jti}"),
        Revoked::Grant(id) => format!("REVOKEDGRANT#{id}"),
        Revoked::Client(id) => format!("REVOKEDCLIENT#{id}"),
        Revoked::User(sub) => format!("REVOKEDUSER#{sub}"),
    };
    (pk, "REVOKED".into())
}

pub(super) fn revocation_item(what: Revoked<'_>, now: i64, keep_until: i64) -> Item {
    let (pk, sk) = revocation_key(what);
    let mut item = Item::new(pk, sk);
    item.expires_at = Some(keep_until.max(now.saturating_add(1)));
    // A token or a grant is revoked for good; a client or a user may be enabled again, and then
    // only the tokens issued up to the revocation stay refused.
    if matches!(what, Revoked::Client(_) | Revoked::User(_)) {
        item.attrs.insert("revoked_at".into(), Value::from(now));
    }
    item
}

#[async_trait]
impl RevocationList for ItemStore {
    async fn revoke(&self, what: Revoked<'_>, keep_until: i64) -> Result<(), StoreError> {
        let now = self.now();
        self.backend
            .put(
                &revocation_item(what, now, keep_until),
                Condition::Always,
                now,
            )
            .await
            .map(drop)
    }

    async fn is_revoked(&self, token: &TokenIdentity<'_>) -> Result<bool, StoreError> {
        // Checked first (a token known not revoked needs none of the keys below), and taken
        // before the read, so a commit during the read changes it and the answer is not kept
        // past that commit.
        let mark = self.backend.commit_mark();
        if mark.is_some_and(|mark| self.not_revoked.holds(&mark, token)) {
            return Ok(false);
        }
        let mut keys = Vec::with_capacity(4);
        keys.push(revocation_key(Revoked::Token(token.jti)));
        if let Some(grant_id) = token.grant_id {
            keys.push(revocation_key(Revoked::Grant(grant_id)));
        }
        keys.push(revocation_key(Revoked::Client(token.client_id)));
        keys.push(revocation_key(Revoked::User(token.sub)));
        let found = self.backend.get_many(&keys, self.now()).await?;
        // A token's or grant's entry reaches the token outright; a client's or user's entry
        // reaches the tokens issued at or before the revocation (one enabled again gets new
        // tokens that work).
        let revoked = found.iter().any(|entry| {
            entry
                .attrs
                .get("revoked_at")
                .and_then(Value::as_i64)
                .is_none_or(|at| at >= token.iat)
        });
        if let Some(mark) = mark
            && !revoked
        {
            self.not_revoked.remember(mark, token);
        }
        Ok(revoked)
    }
}

/// Tokens found not revoked, all under the [`CommitMark`] taken before the reads that found them.
/// While the backend's mark stays the same nothing has been committed, here or by another
/// process (an `admin` command on the same file), so reading again would find the same; the
/// answer is reused. Any commit (a revocation or any other write) changes the mark, and the next
/// check reads again and starts a new set. Revoked tokens are never kept (they are refused by
/// a read each time), nor is anything on a backend without marks (DynamoDB).
#[derive(Default)]
pub(super) struct NotRevoked {
    seen: RwLock<Seen>,
}

#[derive(Default)]
struct Seen {
    mark: Option<CommitMark>,
    /// By `jti`, with the rest of what the check depended on.
    tokens: HashMap<Box<str>, Checked>,
}

/// What a check of one token read the revocations of, besides its `jti`.
#[derive(PartialEq, Eq)]
struct Checked {
    grant_id: Option<Box<str>>,
    client_id: Box<str>,
    sub: Box<str>,
    iat: i64,
}

impl Checked {
    fn of(token: &TokenIdentity<'_>) -> Self {
        Self {
            grant_id: token.grant_id.map(Box::from),
            client_id: token.client_id.into(),
            sub: token.sub.into(),
            iat: token.iat,
        }
    }

    fn is(&self, token: &TokenIdentity<'_>) -> bool {
        self.grant_id.as_deref() == token.grant_id
            && *self.client_id == *token.client_id
            && *self.sub == *token.sub
            && self.iat == token.iat
    }
}

impl NotRevoked {
    /// Tokens kept at most; the set starts again when full.
    const CAPACITY: usize = 4096;

    /// Whether `token` was found not revoked under `mark`.
    fn holds(&self, mark: &CommitMark, token: &TokenIdentity<'_>) -> bool {
        let Ok(seen) = self.seen.read() else {
            return false;
        };
        seen.mark.as_ref() == Some(mark)
            && seen
                .tokens
                .get(token.jti)
                .is_some_and(|checked| checked.is(token))
    }

    /// Keeps `token` as not revoked under `mark`, the mark taken before the read that found so.
    fn remember(&self, mark: CommitMark, token: &TokenIdentity<'_>) {
        let Ok(mut seen) = self.seen.write() else {
            return;
        };
        if seen.mark != Some(mark) || seen.tokens.len() >= Self::CAPACITY {
            seen.mark = Some(mark);
            seen.tokens.clear();
        }
        seen.tokens.insert(token.jti.into(), Checked::of(token));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::counting_backend::CountingBackend;
    use crate::store::sqlite::SqliteBackend;

    const NOW: i64 = 1_700_000_000;

    fn token<'a>(jti: &'a str, sub: &'a str) -> TokenIdentity<'a> {
        TokenIdentity {
            jti,
            grant_id: Some("g1"),
            client_id: "c1",
            sub,
            iat: NOW - 10,
        }
    }

    fn store(backend: Arc<CountingBackend>) -> ItemStore {
        ItemStore::new(backend, Arc::new(ManualClock::at(NOW)))
    }

    #[tokio::test]
    async fn a_token_found_not_revoked_is_read_again_only_after_a_commit() {
        let dir = std::env::temp_dir().join(format!("smcp-revoked-{}", crate::secret::random_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.db");
        let counted = Arc::new(CountingBackend::new(Arc::new(
            SqliteBackend::open(&path).unwrap(),
        )));
        let list = store(counted.clone());
        let t = token("jti-1", "alice");
        assert!(!list.is_revoked(&t).await.unwrap());
        assert_eq!(counted.reads(), 1);
        assert!(!list.is_revoked(&t).await.unwrap());
        assert_eq!(counted.reads(), 1, "nothing committed: not read again");
        // The same jti with anything else different is another check.
        assert!(!list.is_revoked(&token("jti-1", "bob")).await.unwrap());
        assert_eq!(counted.reads(), 2);

        // Another backend on the file (its own connections, as an `admin` command has) revokes
        // the grant: the next check reads, and finds it.
        let admin = store(Arc::new(CountingBackend::new(Arc::new(
            SqliteBackend::open(&path).unwrap(),
        ))));
        admin
            .revoke(Revoked::Grant("g1"), NOW + 3600)
            .await
            .unwrap();
        assert!(list.is_revoked(&t).await.unwrap());
        assert_eq!(counted.reads(), 3);
        // A revoked token is read every time.
        assert!(list.is_revoked(&t).await.unwrap());
        assert_eq!(counted.reads(), 4);

        // Any commit, of anything, means reading again.
        let other = token("jti-2", "carol");
        let other = TokenIdentity {
            grant_id: Some("g2"),
            ..other
        };
        assert!(!list.is_revoked(&other).await.unwrap());
        assert!(!list.is_revoked(&other).await.unwrap());
        assert_eq!(counted.reads(), 5);
        admin
            .put_always(&Item::new("UNRELATED", "X"))
            .await
            .unwrap();
        assert!(!list.is_revoked(&other).await.unwrap());
        assert_eq!(counted.reads(), 6);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn without_a_commit_mark_every_check_reads() {
        let counted = Arc::new(CountingBackend::new(Arc::new(
            SqliteBackend::in_memory().unwrap(),
        )));
        let list = store(counted.clone());
        for _ in 0..3 {
            assert!(!list.is_revoked(&token("jti-1", "alice")).await.unwrap());
        }
        assert_eq!(counted.reads(), 3);
    }

    #[test]
    fn the_set_starts_again_when_full_or_under_a_new_mark() {
        let set = NotRevoked::default();
        let (first, second) = (CommitMark([1; 48]), CommitMark([2; 48]));
        let jtis: Vec<String> = (0..=NotRevoked::CAPACITY)
            .map(|i| format!("j{i}"))
            .collect();
        for jti in &jtis[..NotRevoked::CAPACITY] {
            set.remember(first, &token(jti, "alice"));
        }
        assert!(set.holds(&first, &token("j0", "alice")));
        assert!(!set.holds(&second, &token("j0", "alice")), "another mark");
        set.remember(first, &token(&jtis[NotRevoked::CAPACITY], "alice"));
        assert!(!set.holds(&first, &token("j0", "alice")), "started again");
        assert!(set.holds(&first, &token(&jtis[NotRevoked::CAPACITY], "alice")));
        set.remember(second, &token("j1", "alice"));
        assert!(!set.holds(&first, &token(&jtis[NotRevoked::CAPACITY], "alice")));
        assert!(set.holds(&second, &token("j1", "alice")));
    }
}
