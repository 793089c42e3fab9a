//! The storage contract, written once and run against every adapter: CRUD for each aggregate,
//! expiry, single-use redemption and compare-and-set rotation under concurrency, listing order
//! and pagination. `contract_suite!(name, backend)` instantiates it as tests named
//! `<name>::<case>`, so the output shows which backend ran.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Map;

use super::item::ItemBackend;
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::oauth::client_id::ClientId;
use crate::oauth::client_metadata::ClientMetadata;
use crate::oauth::redirect_uri::RedirectUri;
use crate::oauth::resource::ResourceUri;
use crate::oauth::scope::Scope;
use crate::secret::Sha256Hex;

/// 2026-01-01T00:00:00Z: a fixed start so key layouts are reproducible.
pub const T0: i64 = 1_767_225_600;

pub struct Harness {
    pub stores: Stores,
    pub backend: Arc<dyn ItemBackend>,
    pub clock: Arc<ManualClock>,
}

impl Harness {
    pub fn new(backend: Arc<dyn ItemBackend>) -> Self {
        let clock = Arc::new(ManualClock::at(T0));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        Self {
            stores: Stores::new(backend.clone(), dyn_clock),
            backend,
            clock,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// A stored hash with a readable value (the store does not look inside it).
fn stored_hash(value: &str) -> Sha256Hex {
    Sha256Hex::from_stored(value)
}

pub fn client(id: &str, created_at: i64) -> ClientRecord {
    ClientRecord {
        client_id: ClientId::from_stored(id),
        kind: ClientKind::Dcr,
        status: ClientStatus::Active,
        metadata: ClientMetadata {
            redirect_uris: vec![RedirectUri::from_stored(
                "https://claude.ai/api/mcp/auth_callback",
            )],
            token_endpoint_auth_method: crate::oauth::client_values::AuthMethod::ClientSecretPost,
            grant_types: vec![
                crate::oauth::client_values::GrantType::AuthorizationCode,
                crate::oauth::client_values::GrantType::RefreshToken,
            ],
            response_types: vec!["code".into()],
            client_name: Some("Claude <b>".into()),
            ..ClientMetadata::default()
        },
        secret_hash: Some(crate::secret::Secret::new("secret").hash()),
        registration_token_hash: Some(crate::secret::Secret::new("rat").hash()),
        resources: Vec::new(),
        created_at,
        created_ip: Some("192.0.2.7".into()),
        created_user_agent: Some("contract-test".into()),
        last_used_at: None,
        revision: 0,
        expires_at: Some(created_at + 30 * 86_400),
    }
}

fn grant(id: &str, sub: &str, created_at: i64) -> GrantRecord {
    GrantRecord {
        grant_id: id.into(),
        sub: sub.into(),
        client_id: ClientId::from_stored("c1"),
        scope: Scope::from_stored("costs:read"),
        resource: ResourceUri::from_stored("https://mcp.example.com/mcp"),
        groups: vec!["finance".into()],
        refresh_hash: stored_hash(&format!("hash-{id}-0")),
        previous_refresh_hash: None,
        superseded_hashes: vec![],
        rotated_at: None,
        version: 0,
        status: GrantStatus::Active,
        created_at,
        expires_at: Some(created_at + 30 * 86_400),
        upstream_session: None,
    }
}

fn code(hash: &str, now: i64) -> CodeRecord {
    CodeRecord {
        code_hash: stored_hash(hash),
        client_id: ClientId::from_stored("c1"),
        redirect_uri: RedirectUri::from_stored("https://claude.ai/api/mcp/auth_callback"),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        scope: Scope::from_stored("costs:read"),
        resource: ResourceUri::from_stored("https://mcp.example.com/mcp"),
        sub: "user-1".into(),
        groups: vec![],
        issued_at: now,
        valid_until: now + 60,
        upstream_session: None,
    }
}

async fn collect_clients(h: &Harness, limit: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut request = PageRequest::first(limit);
    loop {
        let page = h.stores.clients.list(&request).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= limit);
        ids.extend(page.items.into_iter().map(|c| c.client_id.to_string()));
        match page.next {
            Some(next) => request.after = Some(next),
            None => return (ids, pages),
        }
    }
}

pub async fn clients_crud(h: Harness) {
    let c = client("c1", h.now());
    assert!(h.stores.clients.create(&c).await.unwrap());
    assert!(!h.stores.clients.create(&c).await.unwrap(), "id taken");
    assert_eq!(h.stores.clients.get("c1").await.unwrap(), Some(c.clone()));
    assert_eq!(h.stores.clients.get("nope").await.unwrap(), None);

    let mut updated = c.clone();
    updated.metadata.client_name = Some("Renamed".into());
    assert!(h.stores.clients.replace(&updated).await.unwrap());
    let stored = h.stores.clients.get("c1").await.unwrap().unwrap();
    assert_eq!(stored.revision, 1);
    assert_eq!(stored.metadata.client_name.as_deref(), Some("Renamed"));
    assert!(
        !h.stores.clients.replace(&updated).await.unwrap(),
        "a stale revision must lose"
    );
    let missing = client("ghost", h.now());
    assert!(!h.stores.clients.replace(&missing).await.unwrap());

    assert!(h.stores.clients.delete("c1").await.unwrap());
    assert_eq!(h.stores.clients.get("c1").await.unwrap(), None);
    assert!(!h.stores.clients.delete("c1").await.unwrap());
}

/// A resource server keeps its kind and the resources it is bound to; an OAuth client has none
/// (and stores no `resources` attribute, so older records read alike).
pub async fn resource_servers_keep_their_resources(h: Harness) {
    let rs = ClientRecord {
        kind: ClientKind::ResourceServer,
        resources: vec![
            ResourceUri::from_stored("https://tools.example.com/mcp"),
            ResourceUri::from_stored("https://other.example.com/mcp"),
        ],
        registration_token_hash: None,
        expires_at: None,
        ..client("rs1", h.now())
    };
    assert!(h.stores.clients.create(&rs).await.unwrap());
    let stored = h.stores.clients.get("rs1").await.unwrap().unwrap();
    assert_eq!(stored, rs);
    assert!(stored.is_resource_server());
    let c = client("c1", h.now());
    assert!(h.stores.clients.create(&c).await.unwrap());
    let stored = h.stores.clients.get("c1").await.unwrap().unwrap();
    assert!(stored.resources.is_empty() && !stored.is_resource_server());
}

pub async fn clients_list_in_registration_order_across_pages(h: Harness) {
    // Registered out of id order; listed by registration time.
    let ids = ["g", "b", "e", "a", "f", "c", "d"];
    for (i, id) in ids.iter().enumerate() {
        let at = h.now() + i as i64;
        assert!(h.stores.clients.create(&client(id, at)).await.unwrap());
    }
    let (listed, pages) = collect_clients(&h, 3).await;
    assert_eq!(listed, ids);
    assert_eq!(pages, 3);
    let (listed, pages) = collect_clients(&h, 7).await;
    assert_eq!(listed.len(), 7);
    assert!(pages <= 2);
}

pub async fn clients_expire(h: Harness) {
    let c = client("short", h.now());
    let c = ClientRecord {
        expires_at: Some(h.now() + 10),
        ..c
    };
    assert!(h.stores.clients.create(&c).await.unwrap());
    h.clock.advance(9);
    assert!(h.stores.clients.get("short").await.unwrap().is_some());
    h.clock.advance(1);
    assert_eq!(h.stores.clients.get("short").await.unwrap(), None);
    let (listed, _) = collect_clients(&h, 10).await;
    assert!(listed.is_empty(), "expired clients are not listed");
    assert!(!h.stores.clients.replace(&c).await.unwrap());
    assert!(
        h.stores.clients.create(&c).await.unwrap(),
        "an expired item does not block a new one"
    );
}

pub async fn pending_authorizations_are_taken_once(h: Harness) {
    let request = PendingAuthorization {
        id: "req-1".into(),
        client_id: ClientId::from_stored("c1"),
        redirect_uri: RedirectUri::from_stored("http://127.0.0.1:3000/cb"),
        code_challenge: "challenge".into(),
        scope: Scope::from_stored("costs:read"),
        resource: ResourceUri::from_stored("https://mcp.example.com/mcp"),
        state: Some("xyz".into()),
        upstream_nonce: "nonce".into(),
        upstream_verifier: "verifier".into(),
        approved_by: Some("browser-hash".into()),
        redirect_uris_digest: Some("digest".into()),
        created_at: h.now(),
        expires_at: h.now() + 600,
    };
    assert!(h.stores.pending.put(&request).await.unwrap());
    assert!(!h.stores.pending.put(&request).await.unwrap());
    assert_eq!(
        h.stores.pending.get("req-1").await.unwrap(),
        Some(request.clone())
    );
    assert_eq!(
        h.stores.pending.take("req-1").await.unwrap(),
        Some(request.clone())
    );
    assert_eq!(h.stores.pending.take("req-1").await.unwrap(), None);
    assert_eq!(h.stores.pending.get("req-1").await.unwrap(), None);

    let later = PendingAuthorization {
        id: "req-2".into(),
        ..request
    };
    assert!(h.stores.pending.put(&later).await.unwrap());
    h.clock.advance(600);
    assert_eq!(h.stores.pending.get("req-2").await.unwrap(), None);
    assert_eq!(h.stores.pending.take("req-2").await.unwrap(), None);
}

pub async fn code_redemption_has_exactly_one_winner(h: Harness) {
    let record = code("codehash-1", h.now());
    assert!(h.stores.codes.put(&record).await.unwrap());
    assert!(!h.stores.codes.put(&record).await.unwrap());

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let codes = h.stores.codes.clone();
            tokio::spawn(async move { codes.redeem("codehash-1").await })
        })
        .collect();
    let mut first = 0;
    let mut replayed = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            first += 1;
        } else {
            replayed += 1;
        }
    }
    assert_eq!((first, replayed), (1, 49));
    // Redemption marks the code and keeps it whole.
    assert_eq!(
        h.stores.codes.peek("codehash-1").await.unwrap(),
        Some((record, true))
    );
    assert!(!h.stores.codes.redeem("unknown").await.unwrap());
    assert_eq!(h.stores.codes.peek("unknown").await.unwrap(), None);
}

pub async fn code_redemption_into_a_grant_is_all_or_nothing_with_one_winner(h: Harness) {
    let record = code("codehash-3", h.now());
    assert!(h.stores.codes.put(&record).await.unwrap());
    assert_eq!(
        h.stores.codes.peek("codehash-3").await.unwrap(),
        Some((record.clone(), false))
    );
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let codes = h.stores.codes.clone();
            let record = record.clone();
            let now = h.now();
            tokio::spawn(async move {
                let grant = grant(&format!("g-race-{i}"), "user-1", now);
                let event = event(&format!("ev-race-{i}"), now * 1000, Some("c1"));
                codes
                    .redeem_into_grant(&record, Some(&grant), &event)
                    .await
                    .map(|won| won.then_some(i))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(i) = task.await.unwrap().unwrap() {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption wins: {winners:?}");
    let winner = winners[0];
    // The winner's grant, listing entry and event exist; no loser wrote anything.
    for i in 0..20 {
        let stored = h.stores.grants.get(&format!("g-race-{i}")).await.unwrap();
        assert_eq!(stored.is_some(), i == winner, "grant of redeemer {i}");
    }
    let listed = h
        .stores
        .grants
        .list_for_client("c1", &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].grant_id, format!("g-race-{winner}"));
    let day = crate::clock::utc_day(h.now());
    let events = h
        .stores
        .audit
        .list_day(&day, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        events
            .items
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        [format!("ev-race-{winner}")]
    );
    assert_eq!(
        h.stores.codes.peek("codehash-3").await.unwrap(),
        Some((record.clone(), true))
    );
    assert!(!h.stores.codes.redeem("codehash-3").await.unwrap());

    // Without a grant (a client that may not refresh): the code and the event only.
    let other = code("codehash-4", h.now());
    assert!(h.stores.codes.put(&other).await.unwrap());
    let ev = event("ev-no-grant", h.now() * 1000, Some("c1"));
    assert!(
        h.stores
            .codes
            .redeem_into_grant(&other, None, &ev)
            .await
            .unwrap()
    );
    assert!(
        !h.stores
            .codes
            .redeem_into_grant(&other, None, &ev)
            .await
            .unwrap()
    );
    assert_eq!(h.stores.codes.peek("unknown").await.unwrap(), None);
}

pub async fn codes_are_kept_past_validity_to_detect_replay_then_vanish(h: Harness) {
    let record = code("codehash-2", h.now());
    assert!(h.stores.codes.put(&record).await.unwrap());
    h.clock.advance(61);
    // Past validity (the flow refuses it) but still recognisable.
    assert!(h.stores.codes.redeem("codehash-2").await.unwrap());
    assert!(!h.stores.codes.redeem("codehash-2").await.unwrap());
    assert_eq!(
        h.stores.codes.peek("codehash-2").await.unwrap(),
        Some((record, true))
    );
    h.clock
        .advance(super::authorizations::CODE_REPLAY_RETENTION_SECS);
    assert!(!h.stores.codes.redeem("codehash-2").await.unwrap());
    assert_eq!(h.stores.codes.peek("codehash-2").await.unwrap(), None);
}

/// Rotates `g1` (at version 1) on past the bound of superseded hashes: the hash just replaced is
/// `previous_refresh_hash`, the ones before it are kept, newest last, up to the bound.
async fn rotated_hashes_are_kept(h: &Harness) -> bool {
    let rounds = MAX_SUPERSEDED_REFRESH_HASHES + 3;
    let mut version = 1;
    for i in 2..2 + rounds {
        let next = h
            .stores
            .grants
            .rotate("g1", version, &stored_hash(&format!("hash-g1-{i}")), &[])
            .await
            .unwrap()
            .expect("rotation");
        version = next.version;
    }
    let last = 1 + rounds;
    let stored = h.stores.grants.get("g1").await.unwrap().unwrap();
    assert_eq!(stored.refresh_hash.as_str(), format!("hash-g1-{last}"));
    assert_eq!(
        stored.previous_refresh_hash,
        Some(stored_hash(&format!("hash-g1-{}", last - 1)))
    );
    let expected: Vec<Sha256Hex> = (last - 1 - MAX_SUPERSEDED_REFRESH_HASHES..last - 1)
        .map(|i| stored_hash(&format!("hash-g1-{i}")))
        .collect();
    assert_eq!(stored.superseded_hashes, expected);
    true
}

pub async fn grants_rotate_and_revoke(h: Harness) {
    let g = grant("g1", "user-1", h.now());
    assert!(h.stores.grants.create(&g).await.unwrap());
    assert!(!h.stores.grants.create(&g).await.unwrap());
    assert_eq!(h.stores.grants.get("g1").await.unwrap(), Some(g.clone()));

    h.clock.advance(5);
    let groups = vec!["admins".to_owned()];
    let rotated = h
        .stores
        .grants
        .rotate("g1", 0, &stored_hash("hash-g1-1"), &groups)
        .await
        .unwrap()
        .expect("the first rotation wins");
    assert_eq!(rotated.version, 1);
    assert_eq!(rotated.refresh_hash.as_str(), "hash-g1-1");
    assert_eq!(
        rotated.previous_refresh_hash,
        Some(stored_hash("hash-g1-0"))
    );
    assert_eq!(rotated.rotated_at, Some(h.now()));
    assert_eq!(rotated.groups, groups);
    assert_eq!(h.stores.grants.get("g1").await.unwrap(), Some(rotated));
    assert_eq!(
        h.stores
            .grants
            .rotate("g1", 0, &stored_hash("hash-g1-x"), &groups)
            .await
            .unwrap(),
        None,
        "a stale version loses"
    );
    assert!(rotated_hashes_are_kept(&h).await);

    assert!(h.stores.grants.revoke("g1").await.unwrap());
    assert!(!h.stores.grants.revoke("g1").await.unwrap());
    let revoked = h.stores.grants.get("g1").await.unwrap().unwrap();
    assert_eq!(revoked.status, GrantStatus::Revoked);
    assert_eq!(
        h.stores
            .grants
            .rotate("g1", revoked.version, &stored_hash("hash-g1-2"), &groups)
            .await
            .unwrap(),
        None,
        "a revoked grant never rotates"
    );
    assert!(!h.stores.grants.revoke("missing").await.unwrap());
    assert_eq!(
        h.stores
            .grants
            .rotate("missing", 0, &stored_hash("h"), &groups)
            .await
            .unwrap(),
        None
    );
}

pub async fn concurrent_rotations_leave_one_successor(h: Harness) {
    assert!(
        h.stores
            .grants
            .create(&grant("g2", "user-1", h.now()))
            .await
            .unwrap()
    );
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let grants = h.stores.grants.clone();
            tokio::spawn(async move {
                let hash = stored_hash(&format!("successor-{i}"));
                let won = grants.rotate("g2", 0, &hash, &[]).await.unwrap();
                won.map(|_| hash)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let Some(hash) = task.await.unwrap() {
            winners.push(hash);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins: {winners:?}");
    let stored = h.stores.grants.get("g2").await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(Some(&stored.refresh_hash), winners.first());
    assert_eq!(stored.previous_refresh_hash, Some(stored_hash("hash-g2-0")));
}

pub async fn grants_list_per_user_in_creation_order(h: Harness) {
    for (i, id) in ["z", "y", "x", "w", "v"].iter().enumerate() {
        let g = grant(id, "alice", h.now() + i as i64);
        assert!(h.stores.grants.create(&g).await.unwrap());
    }
    assert!(
        h.stores
            .grants
            .create(&grant("other", "bob", h.now()))
            .await
            .unwrap()
    );
    let mut request = PageRequest::first(2);
    let mut ids = Vec::new();
    loop {
        let page = h
            .stores
            .grants
            .list_for_user("alice", &request)
            .await
            .unwrap();
        ids.extend(page.items.into_iter().map(|g| g.grant_id));
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    assert_eq!(ids, ["z", "y", "x", "w", "v"]);
    let bob = h
        .stores
        .grants
        .list_for_user("bob", &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(bob.items.len(), 1);
    assert_eq!(bob.next, None);
}

pub async fn consents_per_user_and_client(h: Harness) {
    let consent = ConsentRecord {
        sub: "alice".into(),
        client_id: ClientId::from_stored("c1"),
        scope: Scope::from_stored("costs:read"),
        granted_at: h.now(),
        redirect_uris_digest: Some("0123456789abcdef0123456789abcdef".into()),
    };
    h.stores.consents.put(&consent).await.unwrap();
    let wider = ConsentRecord {
        scope: Scope::from_stored("costs:read costs:resources"),
        ..consent.clone()
    };
    h.stores.consents.put(&wider).await.unwrap();
    let other_client = ConsentRecord {
        client_id: ClientId::from_stored("c0"),
        ..consent.clone()
    };
    h.stores.consents.put(&other_client).await.unwrap();
    let other_user = ConsentRecord {
        sub: "bob".into(),
        ..consent.clone()
    };
    h.stores.consents.put(&other_user).await.unwrap();
    // A grant for alice lives under another key and must not appear among her consents.
    assert!(
        h.stores
            .grants
            .create(&grant("g", "alice", h.now()))
            .await
            .unwrap()
    );

    assert_eq!(
        h.stores.consents.get("alice", "c1").await.unwrap(),
        Some(wider.clone())
    );
    let listed = h
        .stores
        .consents
        .list_for_user("alice", &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, vec![other_client, wider]);
    assert!(h.stores.consents.delete("alice", "c1").await.unwrap());
    assert!(!h.stores.consents.delete("alice", "c1").await.unwrap());
    assert_eq!(h.stores.consents.get("alice", "c1").await.unwrap(), None);
    assert!(h.stores.consents.get("bob", "c1").await.unwrap().is_some());
}

fn event(id: &str, at_ms: i64, client_id: Option<&str>) -> AuditEvent {
    let mut detail = Map::new();
    detail.insert("redirect_uris".into(), serde_json::json!(["https://a"]));
    AuditEvent {
        id: id.into(),
        at_ms,
        kind: "client.registered".into(),
        client_id: client_id.map(Into::into),
        sub: None,
        source_ip: Some("192.0.2.1".into()),
        user_agent: Some("ua".into()),
        detail,
    }
}

pub async fn audit_events_by_day_and_by_client(h: Harness) {
    let t = h.now() * 1000;
    let day1 = [
        event("e1", t + 1, Some("c1")),
        event("e2", t + 2, None),
        event("e3", t + 3_000, Some("c2")),
        event("e4", t + 3_001, Some("c1")),
    ];
    let day2 = event("e5", t + 86_400_000, Some("c1"));
    for e in day1.iter().chain([&day2]) {
        h.stores.audit.append(e).await.unwrap();
    }
    let mut request = PageRequest::first(3);
    let first = h
        .stores
        .audit
        .list_day("2026-01-01", &request)
        .await
        .unwrap();
    assert_eq!(first.items, day1[..3].to_vec());
    request.after = first.next;
    let second = h
        .stores
        .audit
        .list_day("2026-01-01", &request)
        .await
        .unwrap();
    assert_eq!(second.items, day1[3..].to_vec());
    assert_eq!(second.next, None);

    let for_c1 = h
        .stores
        .audit
        .list_for_client("c1", &PageRequest::first(10))
        .await
        .unwrap();
    let ids: Vec<_> = for_c1.items.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["e1", "e4", "e5"]);

    h.clock.advance(super::audit::AUDIT_RETENTION_SECS + 4);
    let gone = h
        .stores
        .audit
        .list_day("2026-01-01", &PageRequest::first(10))
        .await
        .unwrap();
    assert!(gone.items.is_empty(), "audit events expire after 90 days");
}

pub async fn rate_limit_counts_every_concurrent_hit(h: Harness) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let limits = h.stores.rate_limits.clone();
            tokio::spawn(async move { limits.hit("register:192.0.2.1", 3600).await })
        })
        .collect();
    let mut seen = HashSet::new();
    for task in tasks {
        assert!(seen.insert(task.await.unwrap().unwrap()));
    }
    assert_eq!(seen, (1..=20).collect());
    assert_eq!(
        h.stores
            .rate_limits
            .hit("register:192.0.2.2", 3600)
            .await
            .unwrap(),
        1,
        "keys count separately"
    );
    h.clock.advance(3600);
    assert_eq!(
        h.stores
            .rate_limits
            .hit("register:192.0.2.1", 3600)
            .await
            .unwrap(),
        1,
        "a new window starts from one"
    );
}

pub async fn cache_entries_expire_and_kinds_are_separate(h: Harness) {
    let key = "https://client.example/metadata.json";
    h.stores
        .cache
        .put(CacheKind::ClientMetadataDocument, key, "{\"a\":1}", 300)
        .await
        .unwrap();
    let hit = h
        .stores
        .cache
        .get(CacheKind::ClientMetadataDocument, key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hit.value, "{\"a\":1}");
    assert_eq!(hit.stored_at, h.now());
    assert_eq!(hit.expires_at, h.now() + 300);
    assert_eq!(
        h.stores
            .cache
            .get(CacheKind::CostExplorer, key)
            .await
            .unwrap(),
        None
    );
    h.clock.advance(300);
    assert_eq!(
        h.stores
            .cache
            .get(CacheKind::ClientMetadataDocument, key)
            .await
            .unwrap(),
        None
    );
}

pub async fn profiles_keep_the_latest_sign_in_and_are_read_in_batches(h: Harness) {
    let first = UserProfile {
        sub: "sub-alice".into(),
        username: Some("alice".into()),
        email: Some("alice@example.com".into()),
        groups: vec!["finance".into()],
        last_login_at: h.now(),
    };
    h.stores.profiles.put(&first).await.unwrap();
    let latest = UserProfile {
        email: Some("alice@new.example.com".into()),
        groups: vec![],
        last_login_at: h.now() + 60,
        ..first.clone()
    };
    h.stores.profiles.put(&latest).await.unwrap();
    // A profile shares the user's partition with their consents without being one.
    let consent = ConsentRecord {
        sub: "sub-alice".into(),
        client_id: ClientId::from_stored("c1"),
        scope: Scope::from_stored("costs:read"),
        granted_at: h.now(),
        redirect_uris_digest: None,
    };
    h.stores.consents.put(&consent).await.unwrap();
    let consents = h
        .stores
        .consents
        .list_for_user("sub-alice", &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(consents.items, vec![consent]);
    // More users than one batch holds, with repeats and users never seen.
    let mut subs: Vec<String> = (0..150).map(|i| format!("sub-{i:03}")).collect();
    for sub in subs.iter().step_by(3) {
        let profile = UserProfile {
            sub: sub.clone(),
            username: None,
            email: None,
            groups: vec![],
            last_login_at: h.now(),
        };
        h.stores.profiles.put(&profile).await.unwrap();
    }
    subs.push("sub-alice".into());
    subs.push("sub-alice".into());
    let found = h.stores.profiles.get_many(&subs).await.unwrap();
    assert_eq!(found.len(), 51);
    assert_eq!(found.get("sub-alice"), Some(&latest));
    assert!(found.contains_key("sub-000") && !found.contains_key("sub-001"));
    assert!(h.stores.profiles.get_many(&[]).await.unwrap().is_empty());
}

pub async fn login_users_create_update_and_exist(h: Harness) {
    assert!(!h.stores.login_users.any().await.unwrap());
    let user = LoginUser {
        username: "alice".into(),
        sub: "alice".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        groups: vec!["finance".into()],
        enabled: true,
        created_at: h.now(),
    };
    assert!(h.stores.login_users.create(&user).await.unwrap());
    assert!(
        !h.stores.login_users.create(&user).await.unwrap(),
        "username taken"
    );
    assert!(h.stores.login_users.any().await.unwrap());
    assert_eq!(
        h.stores.login_users.get("alice").await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(h.stores.login_users.get("bob").await.unwrap(), None);
    let disabled = LoginUser {
        enabled: false,
        ..user.clone()
    };
    assert!(h.stores.login_users.update(&disabled).await.unwrap());
    assert_eq!(
        h.stores.login_users.get("alice").await.unwrap(),
        Some(disabled)
    );
    let ghost = LoginUser {
        username: "ghost".into(),
        ..user
    };
    assert!(
        !h.stores.login_users.update(&ghost).await.unwrap(),
        "update never creates"
    );
    assert_eq!(h.stores.login_users.get("ghost").await.unwrap(), None);
    // Deleted: gone from reads and from the listing; deleting again finds nothing.
    assert!(h.stores.login_users.delete("alice").await.unwrap());
    assert_eq!(h.stores.login_users.get("alice").await.unwrap(), None);
    assert!(!h.stores.login_users.any().await.unwrap());
    assert!(!h.stores.login_users.delete("alice").await.unwrap());
}

pub async fn login_users_delete_leaves_no_trace(h: Harness) {
    for name in ["alice", "bob"] {
        let user = LoginUser {
            username: name.into(),
            sub: name.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            groups: vec![],
            enabled: true,
            created_at: h.now(),
        };
        assert!(h.stores.login_users.create(&user).await.unwrap());
    }
    assert!(h.stores.login_users.delete("alice").await.unwrap());
    assert!(
        !h.stores.login_users.delete("alice").await.unwrap(),
        "deleting twice finds nothing"
    );
    assert!(!h.stores.login_users.delete("ghost").await.unwrap());
    assert_eq!(h.stores.login_users.get("alice").await.unwrap(), None);
    let listed = h
        .stores
        .login_users
        .list(&PageRequest::first(10))
        .await
        .unwrap();
    let names: Vec<&str> = listed.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["bob"], "gone from the listing too");
    assert!(h.stores.login_users.delete("bob").await.unwrap());
    assert!(!h.stores.login_users.any().await.unwrap());
}

fn token<'a>(jti: &'a str, grant_id: Option<&'a str>, iat: i64) -> TokenIdentity<'a> {
    TokenIdentity {
        jti,
        grant_id,
        client_id: "c1",
        sub: "u1",
        iat,
    }
}

pub async fn revocations_reach_tokens_by_jti_grant_client_and_user(h: Harness) {
    let list = &h.stores.revocations;
    let now = h.now();
    let t1 = token("jti-1", Some("g1"), now - 10);
    assert!(!list.is_revoked(&t1).await.unwrap());

    // One token, until its expiry.
    list.revoke(Revoked::Token("jti-1"), now + 100)
        .await
        .unwrap();
    list.revoke(Revoked::Token("jti-1"), now + 100)
        .await
        .unwrap();
    assert!(list.is_revoked(&t1).await.unwrap());
    assert!(
        !list
            .is_revoked(&token("jti-2", Some("g1"), now - 10))
            .await
            .unwrap()
    );
    h.clock.advance(100);
    assert!(
        !list.is_revoked(&t1).await.unwrap(),
        "the entry goes when the token would have expired"
    );

    // A grant: every token naming it, whenever issued; tokens naming no grant are untouched.
    let now = h.now();
    list.revoke(Revoked::Grant("g1"), now + 100).await.unwrap();
    assert!(
        list.is_revoked(&token("jti-3", Some("g1"), now - 5))
            .await
            .unwrap()
    );
    assert!(
        list.is_revoked(&token("jti-4", Some("g1"), now + 5))
            .await
            .unwrap()
    );
    assert!(
        !list
            .is_revoked(&token("jti-5", Some("g2"), now))
            .await
            .unwrap()
    );
    assert!(!list.is_revoked(&token("jti-6", None, now)).await.unwrap());
    h.clock.advance(100);

    // A client and a user: the tokens issued up to the revocation, not those after it.
    for revoked in [Revoked::Client("c1"), Revoked::User("u1")] {
        let now = h.now();
        list.revoke(revoked, now + 100).await.unwrap();
        assert!(
            list.is_revoked(&token("a", None, now - 30)).await.unwrap(),
            "{revoked:?}"
        );
        assert!(
            list.is_revoked(&token("b", Some("g9"), now)).await.unwrap(),
            "{revoked:?}"
        );
        assert!(
            !list.is_revoked(&token("c", None, now + 1)).await.unwrap(),
            "{revoked:?}"
        );
        let other = TokenIdentity {
            client_id: "c2",
            sub: "u2",
            ..token("d", None, now - 30)
        };
        assert!(!list.is_revoked(&other).await.unwrap(), "{revoked:?}");
        h.clock.advance(100);
        assert!(!list.is_revoked(&token("a", None, now - 30)).await.unwrap());
    }
}

pub async fn grant_revocation_reaches_its_access_tokens(h: Harness) {
    let list = &h.stores.revocations;
    let g = grant("grant-r", "alice", h.now());
    assert!(h.stores.grants.create(&g).await.unwrap());
    let issued = TokenIdentity {
        jti: "jti-r",
        grant_id: Some("grant-r"),
        client_id: "c1",
        sub: "alice",
        iat: h.now(),
    };
    assert!(!list.is_revoked(&issued).await.unwrap());
    h.clock.advance(10);
    assert!(h.stores.grants.revoke("grant-r").await.unwrap());
    assert!(list.is_revoked(&issued).await.unwrap());
    // Kept for as long as a token issued just before can pass verification.
    h.clock.advance(crate::token::REVOCATION_HORIZON_SECS - 1);
    assert!(list.is_revoked(&issued).await.unwrap());
    h.clock.advance(1);
    assert!(!list.is_revoked(&issued).await.unwrap());

    // A grant that was never stored (a client without refresh tokens) is revoked all the same.
    let unstored = TokenIdentity {
        grant_id: Some("never-stored"),
        iat: h.now(),
        ..issued
    };
    assert!(!h.stores.grants.revoke("never-stored").await.unwrap());
    assert!(list.is_revoked(&unstored).await.unwrap());
}

pub async fn several_items_are_read_at_once(h: Harness) {
    let now = h.now();
    let mut keys = Vec::new();
    for (i, expires) in [(0, None), (1, Some(now + 10)), (2, Some(now))].into_iter() {
        let mut item = item::Item::new(format!("MANY#{i}"), "X");
        item.expires_at = expires;
        item.attrs.insert("n".into(), serde_json::Value::from(i));
        assert!(
            h.backend
                .put(&item, item::Condition::Always, now)
                .await
                .unwrap()
        );
        keys.push((item.pk.clone(), item.sk.clone()));
    }
    keys.push(("MANY#absent".into(), "X".into()));
    let mut found: Vec<String> = h
        .backend
        .get_many(&keys, now)
        .await
        .unwrap()
        .into_iter()
        .map(|item| item.pk)
        .collect();
    found.sort();
    assert_eq!(found, ["MANY#0", "MANY#1"], "live items only");
    assert!(h.backend.get_many(&[], now).await.unwrap().is_empty());
    let too_many: Vec<(String, String)> = (0..=item::MAX_BATCH_READS)
        .map(|i| (format!("MANY#{i}"), "X".to_owned()))
        .collect();
    assert!(h.backend.get_many(&too_many, now).await.is_err());
}

pub async fn a_document_client_turned_off_outlives_its_idle_expiry(h: Harness) {
    let url = "https://docs.example.com/client.json";
    let recorded = ClientRecord {
        client_id: ClientId::from_stored(url),
        kind: ClientKind::Cimd,
        secret_hash: None,
        registration_token_hash: None,
        resources: Vec::new(),
        expires_at: Some(h.now() + 86_400),
        ..client(url, h.now())
    };
    assert!(h.stores.clients.create(&recorded).await.unwrap());
    let disabled = h
        .stores
        .clients
        .set_status(url, ClientStatus::Disabled)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disabled.expires_at, None);
    h.clock.advance(2 * 86_400);
    let kept = h.stores.clients.get(url).await.unwrap().unwrap();
    assert_eq!(kept.status, ClientStatus::Disabled);
    // A registered client keeps its expiry: its id is never presented again once it lapses.
    let dcr = client("dcr-1", h.now());
    let dcr = ClientRecord {
        expires_at: Some(h.now() + 86_400),
        ..dcr
    };
    assert!(h.stores.clients.create(&dcr).await.unwrap());
    let disabled = h
        .stores
        .clients
        .set_status("dcr-1", ClientStatus::Disabled)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disabled.expires_at, dcr.expires_at);
}

pub async fn clients_status_and_registered_since(h: Harness) {
    for (i, id) in ["old", "mid", "new"].iter().enumerate() {
        let at = h.now() + 100 * i as i64;
        assert!(h.stores.clients.create(&client(id, at)).await.unwrap());
    }
    let since = |since: i64, after: Option<String>| {
        let clients = h.stores.clients.clone();
        async move {
            let request = PageRequest { after, limit: 10 };
            let page = clients.list_since(since, &request).await.unwrap();
            page.items
                .into_iter()
                .map(|c| c.client_id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(since(h.now(), None).await, ["old", "mid", "new"]);
    assert_eq!(
        since(h.now() + 100, None).await,
        ["mid", "new"],
        "inclusive"
    );
    assert_eq!(since(h.now() + 101, None).await, ["new"]);
    assert!(since(h.now() + 201, None).await.is_empty());
    let first = h
        .stores
        .clients
        .list_since(h.now(), &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);
    assert_eq!(
        since(h.now(), first.next).await,
        ["mid", "new"],
        "a cursor continues"
    );

    let disabled = h
        .stores
        .clients
        .set_status("mid", ClientStatus::Disabled)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disabled.status, ClientStatus::Disabled);
    let stored = h.stores.clients.get("mid").await.unwrap().unwrap();
    assert_eq!(stored, disabled);
    assert_eq!(stored.revision, 1);
    let again = h
        .stores
        .clients
        .set_status("mid", ClientStatus::Disabled)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.revision, 1, "setting the same status writes nothing");
    let enabled = h
        .stores
        .clients
        .set_status("mid", ClientStatus::Active)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(enabled.status, ClientStatus::Active);
    assert_eq!(h.stores.clients.get("mid").await.unwrap(), Some(enabled));
    assert_eq!(
        h.stores
            .clients
            .set_status("ghost", ClientStatus::Disabled)
            .await
            .unwrap(),
        None
    );
}

async fn client_grant_ids(h: &Harness, client_id: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = h
            .stores
            .grants
            .list_for_client(client_id, &request)
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        ids.extend(page.items.into_iter().map(|g| g.grant_id));
        match page.next {
            Some(next) => request.after = Some(next),
            None => return ids,
        }
    }
}

pub async fn grants_list_per_client_and_revoke_all(h: Harness) {
    let make = |id: &str, sub: &str, client_id: &str, offset: i64| GrantRecord {
        client_id: ClientId::from_stored(client_id),
        ..grant(id, sub, h.now() + offset)
    };
    let grants = [
        make("a1", "alice", "c1", 0),
        make("a2", "alice", "c2", 1),
        make("b1", "bob", "c1", 2),
        make("a3", "alice", "c1", 3),
        make("b2", "bob", "c2", 4),
    ];
    for g in &grants {
        assert!(h.stores.grants.create(g).await.unwrap());
    }
    assert!(
        !h.stores.grants.create(&grants[0]).await.unwrap(),
        "id taken"
    );
    assert_eq!(client_grant_ids(&h, "c1", 2).await, ["a1", "b1", "a3"]);
    assert_eq!(client_grant_ids(&h, "c2", 10).await, ["a2", "b2"]);
    assert!(client_grant_ids(&h, "c3", 10).await.is_empty());

    // A rotated grant is listed in its current state.
    let rotated = h
        .stores
        .grants
        .rotate("b1", 0, &stored_hash("hash-b1-1"), &[])
        .await
        .unwrap()
        .unwrap();
    let listed = h
        .stores
        .grants
        .list_for_client("c1", &PageRequest::first(10))
        .await
        .unwrap();
    assert!(listed.items.contains(&rotated));

    assert!(h.stores.grants.revoke("a3").await.unwrap());
    let revoked = h.stores.grants.revoke_all_for_user("alice").await.unwrap();
    let ids: Vec<_> = revoked.iter().map(|g| g.grant_id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"], "already revoked grants are left out");
    assert!(revoked.iter().all(|g| g.status == GrantStatus::Revoked));
    for id in ["a1", "a2", "a3"] {
        let stored = h.stores.grants.get(id).await.unwrap().unwrap();
        assert_eq!(stored.status, GrantStatus::Revoked, "{id}");
    }
    assert!(
        h.stores
            .grants
            .revoke_all_for_user("alice")
            .await
            .unwrap()
            .is_empty()
    );

    let revoked = h.stores.grants.revoke_all_for_client("c1").await.unwrap();
    let ids: Vec<_> = revoked.iter().map(|g| g.grant_id.as_str()).collect();
    assert_eq!(ids, ["b1"]);
    let b2 = h.stores.grants.get("b2").await.unwrap().unwrap();
    assert_eq!(b2.status, GrantStatus::Active, "other clients' grants stay");

    // Listing entries expire with their grants.
    h.clock.advance(30 * 86_400 + 5);
    assert!(client_grant_ids(&h, "c2", 10).await.is_empty());
}

fn typed(
    id: &str,
    at_ms: i64,
    kind: &str,
    client_id: Option<&str>,
    sub: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        kind: kind.into(),
        sub: sub.map(Into::into),
        ..event(id, at_ms, client_id)
    }
}

async fn search_ids(h: &Harness, query: &AuditQuery, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = h.stores.audit.search(query, &request).await.unwrap();
        assert!(page.items.len() <= limit);
        ids.extend(page.items.into_iter().map(|e| e.id));
        match page.next {
            Some(next) => request.after = Some(next),
            None => return ids,
        }
    }
}

pub async fn audit_search_by_type_client_user_and_time(h: Harness) {
    let t = h.now() * 1000;
    let day = 86_400_000;
    let events = [
        typed("e1", t + 1, "client.registered", Some("c1"), None),
        typed("e2", t + 2, "token.issued", Some("c1"), Some("alice")),
        typed("e3", t + 3, "token.issued", Some("c2"), Some("bob")),
        typed("e4", t + day, "admin.client.disabled", Some("c1"), None),
        typed(
            "e5",
            t + day + 1,
            "admin.grants.revoked",
            None,
            Some("alice"),
        ),
        typed(
            "e6",
            t + 3 * day,
            "token.refreshed",
            Some("c2"),
            Some("alice"),
        ),
    ];
    for e in &events {
        h.stores.audit.append(e).await.unwrap();
    }
    h.clock.advance(4 * 86_400);
    let all = AuditQuery::default();
    assert_eq!(
        search_ids(&h, &all, 2).await,
        ["e1", "e2", "e3", "e4", "e5", "e6"],
        "across day partitions, in pages"
    );
    let q = |f: fn(&mut AuditQuery)| {
        let mut query = AuditQuery::default();
        f(&mut query);
        query
    };
    assert_eq!(
        search_ids(&h, &q(|q| q.kind = Some("token.issued".into())), 10).await,
        ["e2", "e3"]
    );
    assert_eq!(
        search_ids(&h, &q(|q| q.kind = Some("admin.*".into())), 10).await,
        ["e4", "e5"]
    );
    assert_eq!(
        search_ids(&h, &q(|q| q.client_id = Some("c1".into())), 1).await,
        ["e1", "e2", "e4"]
    );
    assert_eq!(
        search_ids(&h, &q(|q| q.sub = Some("alice".into())), 10).await,
        ["e2", "e5", "e6"]
    );
    let mut ranged = AuditQuery {
        since_ms: Some(t + 2),
        until_ms: Some(t + day + 1),
        ..AuditQuery::default()
    };
    assert_eq!(
        search_ids(&h, &ranged, 10).await,
        ["e2", "e3", "e4"],
        "since inclusive, until exclusive"
    );
    ranged.client_id = Some("c1".into());
    assert_eq!(search_ids(&h, &ranged, 10).await, ["e2", "e4"]);
    ranged.sub = Some("alice".into());
    ranged.kind = Some("token.*".into());
    assert_eq!(search_ids(&h, &ranged, 10).await, ["e2"]);
    let empty = AuditQuery {
        since_ms: Some(t + 5),
        until_ms: Some(t + 5),
        ..AuditQuery::default()
    };
    assert!(search_ids(&h, &empty, 10).await.is_empty());
}

pub async fn login_users_are_listed_by_name(h: Harness) {
    for name in ["carol", "alice", "bob"] {
        let user = LoginUser {
            username: name.into(),
            sub: name.into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            groups: vec![],
            enabled: true,
            created_at: h.now(),
        };
        assert!(h.stores.login_users.create(&user).await.unwrap());
    }
    let first = h
        .stores
        .login_users
        .list(&PageRequest::first(2))
        .await
        .unwrap();
    let names: Vec<_> = first.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let rest = h
        .stores
        .login_users
        .list(&PageRequest {
            after: first.next,
            limit: 2,
        })
        .await
        .unwrap();
    let names: Vec<_> = rest.items.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["carol"]);
    assert_eq!(rest.next, None);
}

/// Collects every page of a listing, checking each page's size.
async fn all_pages<T, F, Fut>(limit: usize, mut list: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Page<T>>,
{
    let mut all = Vec::new();
    let mut pages = 0;
    let mut request = PageRequest::first(limit);
    loop {
        let page = list(request.clone()).await;
        pages += 1;
        assert!(page.items.len() <= limit);
        all.extend(page.items);
        match page.next {
            Some(next) => request.after = Some(next),
            None => return (all, pages),
        }
    }
}

/// How many distinct shards of `shards` the ids fall in.
fn shards_used<'a>(ids: impl Iterator<Item = &'a String>, shards: u32) -> usize {
    ids.map(|id| shard::shard_of(id, shards))
        .collect::<HashSet<_>>()
        .len()
}

pub async fn sharded_listings_keep_order_across_pages(h: Harness) {
    // Many more items than a page, spread over the shards, created out of id order.
    let n = 45_i64;
    let ids: Vec<String> = (0..n).map(|i| format!("id-{:02}", (i * 17) % n)).collect();
    assert!(shards_used(ids.iter(), shard::CLIENT_LIST_SHARDS) > 4);
    assert!(shards_used(ids.iter(), shard::AUDIT_SHARDS) > 8);
    let t = h.now();
    for (i, id) in ids.iter().enumerate() {
        let at = t + i as i64;
        assert!(h.stores.clients.create(&client(id, at)).await.unwrap());
        let g = GrantRecord {
            client_id: ClientId::from_stored("shared"),
            ..grant(id, &format!("user-{}", i % 7), at)
        };
        assert!(h.stores.grants.create(&g).await.unwrap());
        let e = event(id, at * 1000 + 5, Some("shared"));
        h.stores.audit.append(&e).await.unwrap();
    }
    h.clock.advance(n);

    let clients = h.stores.clients.clone();
    let (listed, pages) = all_pages(7, |r| {
        let clients = clients.clone();
        async move { clients.list(&r).await.unwrap() }
    })
    .await;
    let listed: Vec<_> = listed
        .into_iter()
        .map(|c| c.client_id.to_string())
        .collect();
    assert_eq!(listed, ids, "clients in registration order");
    assert_eq!(pages, 7);
    let (since, _) = all_pages(4, |r| {
        let clients = clients.clone();
        async move { clients.list_since(t + 30, &r).await.unwrap() }
    })
    .await;
    let since: Vec<_> = since.into_iter().map(|c| c.client_id.to_string()).collect();
    assert_eq!(since, ids[30..], "registered since, across shards");

    let grants = h.stores.grants.clone();
    let (listed, _) = all_pages(6, |r| {
        let grants = grants.clone();
        async move { grants.list_for_client("shared", &r).await.unwrap() }
    })
    .await;
    let listed: Vec<_> = listed.into_iter().map(|g| g.grant_id).collect();
    assert_eq!(listed, ids, "a client's grants in creation order");

    let audit = h.stores.audit.clone();
    let day = crate::clock::utc_day(t);
    let (by_day, pages) = all_pages(10, |r| {
        let (audit, day) = (audit.clone(), day.clone());
        async move { audit.list_day(&day, &r).await.unwrap() }
    })
    .await;
    let by_day: Vec<_> = by_day.into_iter().map(|e| e.id).collect();
    assert_eq!(by_day, ids, "a day's events in time order");
    assert_eq!(pages, 5);
    let (by_client, _) = all_pages(8, |r| {
        let audit = audit.clone();
        async move { audit.list_for_client("shared", &r).await.unwrap() }
    })
    .await;
    let by_client: Vec<_> = by_client.into_iter().map(|e| e.id).collect();
    assert_eq!(by_client, ids, "a client's events in time order");
    for query in [
        AuditQuery::default(),
        AuditQuery {
            client_id: Some("shared".into()),
            ..AuditQuery::default()
        },
    ] {
        let (found, _) = all_pages(9, |r| {
            let (audit, query) = (audit.clone(), query.clone());
            async move { audit.search(&query, &r).await.unwrap() }
        })
        .await;
        let found: Vec<_> = found.into_iter().map(|e| e.id).collect();
        assert_eq!(found, ids, "search {query:?}");
    }

    let revoked = h
        .stores
        .grants
        .revoke_all_for_client("shared")
        .await
        .unwrap();
    assert_eq!(revoked.len(), ids.len(), "every shard's grants are revoked");
}

/// Moves a stored item to the key the unsharded layout gave it: its `PK` to `pk` (when given)
/// and its listing key to `gsi1pk` (when given).
async fn to_legacy(h: &Harness, pk: &str, sk: &str, legacy_pk: Option<&str>, gsi1pk: Option<&str>) {
    let now = h.now();
    let mut item = h.backend.take(pk, sk, now).await.unwrap().unwrap();
    if let Some(legacy_pk) = legacy_pk {
        item.pk = legacy_pk.into();
    }
    if let (Some(gsi1pk), Some((key, _))) = (gsi1pk, item.gsi1.as_mut()) {
        *key = gsi1pk.into();
    }
    assert!(
        h.backend
            .put(&item, item::Condition::Always, now)
            .await
            .unwrap()
    );
}

pub async fn items_under_unsharded_keys_stay_listed(h: Harness) {
    // Every other item is written as the unsharded layout wrote it: listings interleave both.
    let t = h.now();
    let day = crate::clock::utc_day(t);
    let ids: Vec<String> = (0..12).map(|i| format!("legacy-{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let at = t + i as i64;
        assert!(h.stores.clients.create(&client(id, at)).await.unwrap());
        let g = GrantRecord {
            client_id: ClientId::from_stored("c1"),
            ..grant(id, "alice", at)
        };
        assert!(h.stores.grants.create(&g).await.unwrap());
        h.stores
            .audit
            .append(&event(id, at * 1000, Some("c1")))
            .await
            .unwrap();
        if i % 2 == 1 {
            continue;
        }
        let client_pk = format!("CLIENT#{id}");
        to_legacy(&h, &client_pk, "CLIENT", None, Some("CLIENTS")).await;
        let entry_sk = format!("{}#{id}", crate::clock::rfc3339(at));
        let entry_pk = shard::key_for("CLIENTGRANT#c1", id, shard::CLIENT_GRANT_SHARDS);
        to_legacy(&h, &entry_pk, &entry_sk, Some("CLIENTGRANT#c1"), None).await;
        let audit_pk = shard::key_for(&format!("AUDIT#{day}"), id, shard::AUDIT_SHARDS);
        let audit_sk = format!(
            "{}.000Z#{id}",
            crate::clock::rfc3339(at).trim_end_matches('Z')
        );
        let legacy_day = format!("AUDIT#{day}");
        to_legacy(
            &h,
            &audit_pk,
            &audit_sk,
            Some(&legacy_day),
            Some("AUDIT#CLIENT#c1"),
        )
        .await;
    }
    let legacy = h
        .backend
        .query(item::Index::Gsi1, "CLIENTS", "", None, 50, h.now())
        .await
        .unwrap();
    assert_eq!(legacy.len(), 6, "half the clients sit under the old key");

    let (clients, _) = all_pages(5, |r| {
        let clients = h.stores.clients.clone();
        async move { clients.list(&r).await.unwrap() }
    })
    .await;
    let clients: Vec<_> = clients
        .into_iter()
        .map(|c| c.client_id.to_string())
        .collect();
    assert_eq!(clients, ids);
    assert_eq!(client_grant_ids(&h, "c1", 5).await, ids);
    let (by_day, _) = all_pages(5, |r| {
        let (audit, day) = (h.stores.audit.clone(), day.clone());
        async move { audit.list_day(&day, &r).await.unwrap() }
    })
    .await;
    assert_eq!(by_day.into_iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    let (by_client, _) = all_pages(5, |r| {
        let audit = h.stores.audit.clone();
        async move { audit.list_for_client("c1", &r).await.unwrap() }
    })
    .await;
    assert_eq!(by_client.into_iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    h.clock.advance(60);
    assert_eq!(search_ids(&h, &AuditQuery::default(), 5).await, ids);

    // A legacy client rewritten (a status change, a last-use update) moves to its shard.
    h.stores
        .clients
        .set_status("legacy-00", ClientStatus::Disabled)
        .await
        .unwrap()
        .unwrap();
    let legacy = h
        .backend
        .query(item::Index::Gsi1, "CLIENTS", "", None, 50, h.now())
        .await
        .unwrap();
    assert_eq!(legacy.len(), 5);
    let revoked = h.stores.grants.revoke_all_for_client("c1").await.unwrap();
    assert_eq!(
        revoked.len(),
        ids.len(),
        "legacy listing entries are revoked too"
    );
}

/// Stores a literal item as an earlier release wrote it and returns its attributes.
async fn put_fixture(
    h: &Harness,
    pk: &str,
    sk: &str,
    expires_at: Option<i64>,
    attrs: serde_json::Value,
) -> Map<String, serde_json::Value> {
    let serde_json::Value::Object(attrs) = attrs else {
        panic!("a fixture is a JSON object");
    };
    let mut item = item::Item::new(pk, sk);
    item.expires_at = expires_at;
    item.attrs = attrs.clone();
    assert!(
        h.backend
            .put(&item, item::Condition::Absent, h.now())
            .await
            .unwrap()
    );
    attrs
}

/// The stored item's attributes and expiry, after the fixture was deleted and the typed record
/// written again through its store.
async fn stored_shape(
    h: &Harness,
    pk: &str,
    sk: &str,
) -> (Map<String, serde_json::Value>, Option<i64>) {
    let item = h.backend.get(pk, sk, h.now()).await.unwrap().unwrap();
    (item.attrs, item.expires_at)
}

pub async fn records_of_the_untyped_shape_read_and_write_alike(h: Harness) {
    // Literal items as stored while client ids, redirect URIs, scopes and resources were bare
    // strings: each reads into the typed record, and writing that record stores the same shape.
    let now = h.now();
    let resource = "https://mcp.example.com/mcp";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    let (pk, sk) = ("CLIENT#legacy-client", "CLIENT");
    let expires = Some(T0 + 30 * 86_400);
    let attrs = put_fixture(&h, pk, sk, expires, serde_json::json!({
        "client_id": "legacy-client",
        "kind": "dcr",
        "status": "active",
        "metadata": {
            "redirect_uris": ["https://claude.ai/api/mcp/auth_callback", "http://127.0.0.1:3000/cb"],
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "Legacy",
            "scope": "costs:resources costs:read",
        },
        "secret_hash": crate::secret::sha256_hex(b"secret"),
        "registration_token_hash": crate::secret::sha256_hex(b"rat"),
        "created_at": T0,
        "created_ip": "192.0.2.7",
        "created_user_agent": "old",
        "last_used_at": null,
        "revision": 3,
    }))
    .await;
    let client = h
        .stores
        .clients
        .get("legacy-client")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(client.client_id, "legacy-client");
    assert!(client.metadata.redirect_uris[1].admits("http://127.0.0.1:4000/cb"));
    assert!(h.backend.delete(pk, sk, now).await.unwrap());
    assert!(h.stores.clients.create(&client).await.unwrap());
    assert_eq!(stored_shape(&h, pk, sk).await, (attrs, expires), "client");

    let (pk, sk) = ("AUTHREQ#legacy-request", "AUTHREQ");
    let expires = Some(T0 + 600);
    let attrs = put_fixture(
        &h,
        pk,
        sk,
        expires,
        serde_json::json!({
            "id": "legacy-request",
            "client_id": "https://app.example.com/client.json",
            "redirect_uri": "http://127.0.0.1:51234/cb",
            "code_challenge": challenge,
            "scope": "costs:read costs:resources",
            "resource": resource,
            "state": "xyz",
            "upstream_nonce": "nonce",
            "upstream_verifier": "verifier",
            "approved_by": "browser",
            "redirect_uris_digest": "digest",
            "created_at": T0,
        }),
    )
    .await;
    let pending = h
        .stores
        .pending
        .take("legacy-request")
        .await
        .unwrap()
        .unwrap();
    assert!(pending.client_id.is_document_url());
    assert_eq!(pending.redirect_uri, "http://127.0.0.1:51234/cb");
    assert_eq!(pending.scope.values(), ["costs:read", "costs:resources"]);
    assert_eq!(pending.resource, resource);
    assert!(h.stores.pending.put(&pending).await.unwrap());
    assert_eq!(stored_shape(&h, pk, sk).await, (attrs, expires), "pending");

    let (pk, sk) = ("CODE#legacy-code-hash", "CODE");
    let expires = Some(T0 + 60 + authorizations::CODE_REPLAY_RETENTION_SECS);
    let attrs = put_fixture(
        &h,
        pk,
        sk,
        expires,
        serde_json::json!({
            "code_hash": "legacy-code-hash",
            "client_id": "c1",
            "redirect_uri": "https://claude.ai/api/mcp/auth_callback",
            "code_challenge": challenge,
            "scope": "costs:read",
            "resource": resource,
            "sub": "alice",
            "groups": ["admins"],
            "issued_at": T0,
            "valid_until": T0 + 60,
            "redeemed": false,
        }),
    )
    .await;
    let (code, redeemed) = h
        .stores
        .codes
        .peek("legacy-code-hash")
        .await
        .unwrap()
        .unwrap();
    assert!(!redeemed);
    assert_eq!(code.client_id, "c1");
    assert_eq!(code.scope.to_scope_string(), "costs:read");
    assert!(h.backend.delete(pk, sk, now).await.unwrap());
    assert!(h.stores.codes.put(&code).await.unwrap());
    assert_eq!(stored_shape(&h, pk, sk).await, (attrs, expires), "code");

    let (pk, sk) = ("GRANT#legacy-grant", "GRANT");
    let expires = Some(T0 + 86_400);
    let attrs = put_fixture(
        &h,
        pk,
        sk,
        expires,
        serde_json::json!({
            "grant_id": "legacy-grant",
            "sub": "alice",
            "client_id": "c1",
            "scope": "costs:read costs:resources",
            "resource": resource,
            "groups": [],
            "refresh_hash": "h2",
            "previous_refresh_hash": "h1",
            "superseded_hashes": ["h0"],
            "rotated_at": T0,
            "version": 2,
            "status": "active",
            "created_at": T0,
        }),
    )
    .await;
    let grant = h.stores.grants.get("legacy-grant").await.unwrap().unwrap();
    assert_eq!(grant.client_id, "c1");
    assert_eq!(
        grant.scope.narrow("costs:read").unwrap().to_scope_string(),
        "costs:read"
    );
    assert_eq!(grant.resource, resource);
    assert!(h.backend.delete(pk, sk, now).await.unwrap());
    assert!(h.stores.grants.create(&grant).await.unwrap());
    assert_eq!(stored_shape(&h, pk, sk).await, (attrs, expires), "grant");

    let (pk, sk) = ("USER#alice", "CONSENT#c1");
    let attrs = put_fixture(
        &h,
        pk,
        sk,
        None,
        serde_json::json!({
            "sub": "alice",
            "client_id": "c1",
            "scope": "costs:read",
            "granted_at": T0,
            "redirect_uris_digest": "digest",
        }),
    )
    .await;
    let consent = h.stores.consents.get("alice", "c1").await.unwrap().unwrap();
    assert_eq!(consent.client_id, "c1");
    assert_eq!(consent.scope.values(), ["costs:read"]);
    h.stores.consents.put(&consent).await.unwrap();
    assert_eq!(stored_shape(&h, pk, sk).await, (attrs, None), "consent");
}

/// Instantiates every contract case for one backend as `#[tokio::test]`s in module `$name`.
macro_rules! contract_suite {
    ($name:ident, $backend:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::store::contract::{self, Harness};

            async fn harness() -> Harness {
                Harness::new($backend)
            }

            $crate::store::contract::contract_suite!(@cases
                clients_crud,
                resource_servers_keep_their_resources,
                clients_list_in_registration_order_across_pages,
                clients_expire,
                pending_authorizations_are_taken_once,
                code_redemption_has_exactly_one_winner,
                code_redemption_into_a_grant_is_all_or_nothing_with_one_winner,
                codes_are_kept_past_validity_to_detect_replay_then_vanish,
                grants_rotate_and_revoke,
                concurrent_rotations_leave_one_successor,
                grants_list_per_user_in_creation_order,
                consents_per_user_and_client,
                audit_events_by_day_and_by_client,
                rate_limit_counts_every_concurrent_hit,
                cache_entries_expire_and_kinds_are_separate,
                login_users_create_update_and_exist,
                login_users_delete_leaves_no_trace,
                revocations_reach_tokens_by_jti_grant_client_and_user,
                grant_revocation_reaches_its_access_tokens,
                several_items_are_read_at_once,
                clients_status_and_registered_since,
                grants_list_per_client_and_revoke_all,
                audit_search_by_type_client_user_and_time,
                login_users_are_listed_by_name,
                sharded_listings_keep_order_across_pages,
                items_under_unsharded_keys_stay_listed,
                profiles_keep_the_latest_sign_in_and_are_read_in_batches,
                records_of_the_untyped_shape_read_and_write_alike,
                a_document_client_turned_off_outlives_its_idle_expiry
            );
        }
    };
    (@cases $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                contract::$case(harness().await).await;
            }
        )*
    };
}
pub(crate) use contract_suite;
