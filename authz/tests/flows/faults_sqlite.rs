//! The SQLite file refusing writes mid-flow, for real: the database and its WAL are made
//! immutable (`chattr +i`) under the open connection, so every write fails in the kernel
//! (`EPERM` → `SQLITE_IOERR_WRITE`) while reads go on, as on a file system remounted read-only.
//! File modes would not do: root ignores them, and an open descriptor keeps its access anyway.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::http::StatusCode;
use shared::store::sqlite::SqliteBackend;

use crate::faults::{assert_unavailable, exchange, registration, user_grants};
use crate::support::*;

/// Files made immutable, made mutable again when dropped (else nobody could remove them).
struct Immutable(Vec<PathBuf>);

impl Immutable {
    /// `chattr +i` on `files`; `None` where the platform refuses (no CAP_LINUX_IMMUTABLE, or a
    /// file system without the flag).
    fn set(files: &[PathBuf]) -> Option<Self> {
        let done = Command::new("chattr")
            .arg("+i")
            .args(files)
            .status()
            .is_ok_and(|s| s.success());
        done.then(|| Self(files.to_vec()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        Command::new("chattr").arg("-i").args(&self.0).status().ok();
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[tokio::test]
async fn sqlite_refusing_writes_mid_flow_answers_503_leaves_nothing_half_written_and_recovers() {
    let dir = std::env::temp_dir().join(format!(
        "authz-faults-sqlite-{}",
        shared::secret::random_id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let stand = Stand::with_backend(Arc::new(SqliteBackend::open(&db).unwrap())).await;
    let first = stand.tokens_for(&public()).await;
    let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();
    let code = stand.code_for(PUBLIC).await;

    let files = [db.clone(), with_suffix(&db, "-wal")];
    assert!(
        files.iter().all(|f| f.is_file()),
        "WAL mode keeps {files:?}"
    );
    let Some(frozen) = Immutable::set(&files) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chattr +i failed: this test needs CAP_LINUX_IMMUTABLE (root) and a file system \
             with the immutable flag for {}",
            dir.display()
        );
        eprintln!("SKIPPED: chattr +i is not permitted here (not root, or no support)");
        return;
    };

    let exchanged = stand.token(&public(), &exchange(&code)).await;
    assert_unavailable(&exchanged, "code exchange");
    let refreshed = stand.refresh(&public(), &refresh_token).await;
    assert_unavailable(&refreshed, "refresh");
    let registered = stand.send(registration()).await;
    assert_unavailable(&registered, "registration");
    let page = stand
        .get(
            &stand.authorize_url(PUBLIC, REDIRECT, &[("state", "s")]),
            "",
        )
        .await;
    // The client and its redirect URI could still be read and verified, so the failure to
    // write the pending authorization goes back to the client (RFC 6749 §4.1.2.1).
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    let to_client = page.location_url();
    assert!(to_client.as_str().starts_with(REDIRECT), "{to_client}");
    assert_eq!(
        param(&to_client, "error").as_deref(),
        Some("temporarily_unavailable"),
        "{to_client}"
    );
    assert_eq!(param(&to_client, "state").as_deref(), Some("s"));
    // Reads still work, so the state is observable during the fault: no grant was added.
    assert_eq!(
        user_grants(&stand).await,
        1,
        "no grant written while frozen"
    );

    drop(frozen);
    let tokens = stand.token(&public(), &exchange(&code)).await;
    assert_eq!(
        tokens.status,
        StatusCode::OK,
        "the code was not consumed: {}",
        tokens.body
    );
    assert_eq!(user_grants(&stand).await, 2);
    let replay = stand.token(&public(), &exchange(&code)).await;
    assert_eq!(replay.error(), "invalid_grant", "the code works only once");
    let refreshed = stand.refresh(&public(), &refresh_token).await;
    assert_eq!(
        refreshed.status,
        StatusCode::OK,
        "the refresh token was not rotated: {}",
        refreshed.body
    );
    let registered = stand.send(registration()).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    drop(stand);
    std::fs::remove_dir_all(&dir).ok();
}
