//! SECURITY.md refresh lines: rotation, grace, reuse detection, concurrency, upstream user.

use std::sync::Arc;

use axum::http::StatusCode;

use crate::support::*;

fn refresh_token(json: &serde_json::Value) -> String {
    json["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn rotation_then_old_token_outside_grace_revokes_the_whole_grant() {
    let stand = Stand::new().await;
    let first = stand.tokens_for(&public()).await;
    let t1 = refresh_token(&first);
    let rotated = stand.refresh(&public(), &t1).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let t2 = refresh_token(&rotated.json());
    assert_ne!(t1, t2);

    // Within the grace window: an error, nothing revoked.
    let retry = stand.refresh(&public(), &t1).await;
    assert_eq!(retry.error(), "invalid_grant");
    let t3 = refresh_token(&stand.refresh(&public(), &t2).await.json());

    // Outside the grace window, t2 (now the previous one) revokes everything.
    stand.clock.advance(61);
    let reuse = stand.refresh(&public(), &t2).await;
    assert_eq!(reuse.error(), "invalid_grant");
    let newest = stand.refresh(&public(), &t3).await;
    assert_eq!(
        newest.error(),
        "invalid_grant",
        "the newest token stops working too"
    );
}

#[tokio::test]
async fn an_older_token_than_the_previous_one_revokes_even_within_grace() {
    let stand = Stand::new().await;
    let t1 = refresh_token(&stand.tokens_for(&public()).await);
    let t2 = refresh_token(&stand.refresh(&public(), &t1).await.json());
    let t3 = refresh_token(&stand.refresh(&public(), &t2).await.json());
    assert_eq!(stand.refresh(&public(), &t1).await.error(), "invalid_grant");
    assert_eq!(stand.refresh(&public(), &t3).await.error(), "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_rotate_once() {
    let stand = Arc::new(Stand::new().await);
    let t1 = refresh_token(&stand.tokens_for(&public()).await);
    let tasks: Vec<_> = (0..25)
        .map(|_| {
            let stand = stand.clone();
            let t1 = t1.clone();
            tokio::spawn(async move { stand.refresh(&public(), &t1).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        if reply.status == StatusCode::OK {
            winners.push(refresh_token(&reply.json()));
        } else {
            assert_eq!(reply.error(), "invalid_grant");
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation");
    // The winner's family is alive: no second valid family, and no revocation happened.
    let next = stand.refresh(&public(), winners.first().unwrap()).await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
}

#[tokio::test]
async fn refresh_for_a_disabled_user_is_invalid_grant_and_revokes() {
    let stand = Stand::new().await;
    let t1 = refresh_token(&stand.tokens_for(&public()).await);
    let mut user = stand.stores.login_users.get(USER).await.unwrap().unwrap();
    user.enabled = false;
    assert!(stand.stores.login_users.update(&user).await.unwrap());
    assert_eq!(stand.refresh(&public(), &t1).await.error(), "invalid_grant");
    user.enabled = true;
    assert!(stand.stores.login_users.update(&user).await.unwrap());
    assert_eq!(
        stand.refresh(&public(), &t1).await.error(),
        "invalid_grant",
        "the grant stays revoked"
    );
}

#[tokio::test]
async fn refresh_is_bound_to_its_client_and_scope() {
    let stand = Stand::new().await;
    let t1 = refresh_token(&stand.tokens_for(&public()).await);
    let other = stand
        .refresh(&Auth::Post(CONFIDENTIAL, CLIENT_SECRET), &t1)
        .await;
    assert_eq!(other.error(), "invalid_grant");
    let wider = stand
        .token(
            &public(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t1),
                ("scope", "costs:resources"),
            ],
        )
        .await;
    assert_eq!(wider.error(), "invalid_scope");
    let ok = stand.refresh(&public(), &t1).await;
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "a refused attempt by another client revokes nothing"
    );
    assert_eq!(ok.json()["scope"], "costs:read");
    assert_eq!(
        stand.refresh(&public(), "garbage").await.error(),
        "invalid_grant"
    );
}

/// Audit events of `kind` so far.
async fn audited(stand: &Stand, kind: &str) -> usize {
    let day = shared::clock::utc_day(T0);
    let page = stand
        .stores
        .audit
        .list_day(&day, &shared::store::PageRequest::first(1000))
        .await
        .unwrap();
    page.items.iter().filter(|e| e.kind == kind).count()
}

#[tokio::test]
async fn a_secret_the_grant_never_had_is_invalid_grant_and_revokes_nothing() {
    let stand = Stand::new().await;
    let t1 = refresh_token(&stand.tokens_for(&public()).await);
    let t2 = refresh_token(&stand.refresh(&public(), &t1).await.json());
    stand.clock.advance(120);
    // The grant id is the public half of every refresh token; the secret half is guessed.
    let grant_id = t2.split('.').next().unwrap();
    for _ in 0..3 {
        let guess = format!("{grant_id}.{}", shared::secret::Secret::generate().expose());
        assert_eq!(
            stand.refresh(&public(), &guess).await.error(),
            "invalid_grant"
        );
    }
    assert_eq!(audited(&stand, "refresh.reuse_detected").await, 0);
    let ok = stand.refresh(&public(), &t2).await;
    assert_eq!(ok.status, StatusCode::OK, "nothing revoked: {}", ok.body);
}

#[tokio::test]
async fn a_long_superseded_token_still_revokes_the_grant() {
    let stand = Stand::new().await;
    let t1 = refresh_token(&stand.tokens_for(&public()).await);
    let mut current = t1.clone();
    for _ in 0..5 {
        stand.clock.advance(3600);
        current = refresh_token(&stand.refresh(&public(), &current).await.json());
    }
    stand.clock.advance(120);
    assert_eq!(stand.refresh(&public(), &t1).await.error(), "invalid_grant");
    assert_eq!(audited(&stand, "refresh.reuse_detected").await, 1);
    assert_eq!(
        stand.refresh(&public(), &current).await.error(),
        "invalid_grant",
        "the family is revoked"
    );
}

#[tokio::test]
async fn grace_window_answers_are_audited() {
    let stand = Stand::new().await;
    let t1 = refresh_token(&stand.tokens_for(&public()).await);
    let t2 = refresh_token(&stand.refresh(&public(), &t1).await.json());
    assert_eq!(stand.refresh(&public(), &t1).await.error(), "invalid_grant");
    assert_eq!(audited(&stand, "refresh.grace").await, 1);
    assert_eq!(audited(&stand, "refresh.reuse_detected").await, 0);
    assert_eq!(stand.refresh(&public(), &t2).await.status, StatusCode::OK);
}
