//! SECURITY.md consent and callback lines: escaping, framing headers, CSRF binding, cookie
//! skip, and the callback's state handling.

use axum::http::StatusCode;
use shared::oauth::client_id::ClientId;
use shared::oauth::redirect_uri::RedirectUri;
use shared::store::PageRequest;

use crate::support::*;

#[tokio::test]
async fn consent_page_escapes_client_text_and_forbids_framing() {
    let stand = Stand::new().await;
    stand
        .add_client_named(
            "xss",
            "none",
            &["http://localhost:9999/cb"],
            None,
            "<script>alert(1)</script>Evil",
        )
        .await;
    let reply = stand
        .get(
            &stand.authorize_url("xss", "http://localhost:9999/cb", &[]),
            "",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        !reply.body.contains("<script>alert(1)</script>"),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;Evil")
            || reply
                .body
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;Evil"),
        "{}",
        reply.body
    );
    let csp = reply.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(
        reply.body.contains("registered 10 minutes ago"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("localhost"), "localhost-only warning");
    // Its client_uri (client.example) is not where it sends users back (localhost): not shown.
    assert!(
        !reply.body.contains("client.example"),
        "unverified client_uri host"
    );
    assert!(reply.body.contains("is not verified"), "{}", reply.body);
}

#[tokio::test]
async fn consent_post_without_valid_csrf_or_for_another_client_is_400_and_records_nothing() {
    let stand = Stand::new().await;
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let request = page.hidden("request");
    let csrf = page.hidden("csrf");
    let cookie = browser.header();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no csrf",
            vec![
                ("request", &request),
                ("client_id", PUBLIC),
                ("decision", "approve"),
            ],
            &cookie,
        ),
        (
            "wrong csrf",
            vec![
                ("request", &request),
                ("client_id", PUBLIC),
                ("csrf", "AAAA"),
                ("decision", "approve"),
            ],
            &cookie,
        ),
        (
            "other client_id",
            vec![
                ("request", &request),
                ("client_id", CONFIDENTIAL),
                ("csrf", &csrf),
                ("decision", "approve"),
            ],
            &cookie,
        ),
        (
            "no browser cookie",
            vec![
                ("request", &request),
                ("client_id", PUBLIC),
                ("csrf", &csrf),
                ("decision", "approve"),
            ],
            "",
        ),
        (
            "other browser",
            vec![
                ("request", &request),
                ("client_id", PUBLIC),
                ("csrf", &csrf),
                ("decision", "approve"),
            ],
            "__Host-smcp_csrf=someoneelse",
        ),
    ];
    for (what, form, cookie) in cases {
        let headers: Vec<(&str, &str)> = if cookie.is_empty() {
            vec![]
        } else {
            vec![("cookie", cookie)]
        };
        let reply = stand.post_form("/consent", &form, &headers).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
        assert!(reply.set_cookies.is_empty(), "{what}: no approval cookie");
        assert!(reply.header("location").is_none(), "{what}");
    }
    // Nothing recorded: the pending request is intact and not approved; no consent audit.
    let pending = stand.stores.pending.get(&request).await.unwrap().unwrap();
    assert!(pending.approved_by.is_none());
    let day = shared::clock::utc_day(T0);
    let events = stand
        .stores
        .audit
        .list_day(&day, &PageRequest::first(100))
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .all(|e| !e.kind.as_str().starts_with("consent")),
        "{events:?}"
    );
    // The right form still works.
    let ok = stand.approve(&page, PUBLIC, &mut browser).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn approval_cookie_skips_the_page_for_that_client_only_and_is_host_prefixed() {
    let stand = Stand::new().await;
    let (_, browser) = stand.browser_flow(PUBLIC, REDIRECT, &[]).await;
    assert!(
        browser.header().contains("__Host-smcp_consent="),
        "{}",
        browser.header()
    );
    let again = stand
        .get(
            &stand.authorize_url(PUBLIC, REDIRECT, &[]),
            &browser.header(),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::FOUND,
        "approved client skips consent"
    );
    assert!(
        again
            .location()
            .starts_with(&format!("{ISSUER}/login?request="))
    );
    let other = stand
        .get(
            &stand.authorize_url(CONFIDENTIAL, REDIRECT, &[]),
            &browser.header(),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "another client still asks");
    let wider = stand
        .get(
            &stand.authorize_url(PUBLIC, REDIRECT, &[("scope", "costs:read costs:resources")]),
            &browser.header(),
        )
        .await;
    assert_eq!(wider.status, StatusCode::OK, "a wider scope asks again");
}

#[tokio::test]
async fn cookie_attributes_follow_the_issuer_scheme() {
    let secure = Stand::new().await;
    let page = secure
        .get(&secure.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    let cookie = page.set_cookies.first().unwrap();
    assert!(
        cookie.starts_with("__Host-smcp_csrf=")
            && cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain="), "{cookie}");

    let loopback = Stand::with_issuer("http://127.0.0.1:8080").await;
    let page = loopback
        .get(
            &loopback.authorize_url(PUBLIC, REDIRECT, &[("resource", "")]),
            "",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let cookie = page.set_cookies.first().unwrap();
    assert!(
        cookie.starts_with("smcp_csrf=")
            && !cookie.contains("Secure")
            && !cookie.contains("Domain="),
        "{cookie}"
    );
}

#[tokio::test]
async fn consent_denied_goes_back_with_access_denied() {
    let stand = Stand::new().await;
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let reply = stand
        .post_form(
            "/consent",
            &[
                ("request", &page.hidden("request")),
                ("client_id", PUBLIC),
                ("csrf", &page.hidden("csrf")),
                ("decision", "deny"),
            ],
            &[("cookie", &browser.header())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let back = reply.location_url();
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&back, "iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn login_requires_a_consented_request() {
    let stand = Stand::new().await;
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    // The pre-consent id cannot be used to skip the consent page.
    let reply = stand
        .get(&format!("/login?request={}", page.hidden("request")), "")
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let callback = stand
        .get(
            &format!("/callback?state={}&code=x", page.hidden("request")),
            "",
        )
        .await;
    assert_eq!(callback.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_password_shows_the_form_again_and_issues_nothing() {
    let stand = Stand::new().await;
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    let login_path = consent.location().replace(ISSUER, "");
    let form = stand.get(&login_path, &browser.header()).await;
    let reply = stand
        .post_form(
            "/login",
            &[
                ("request", &form.hidden("request")),
                ("csrf", &form.hidden("csrf")),
                ("username", USER),
                ("password", "wrong password!!"),
            ],
            &[("cookie", &browser.header())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("Wrong username or password"));
    assert!(reply.header("location").is_none());
}

#[tokio::test]
async fn callback_with_unknown_expired_or_replayed_state_is_an_error_page() {
    let stand = Stand::new().await;
    // A real login response, captured before the browser follows it.
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    let form = stand
        .get(&consent.location().replace(ISSUER, ""), &browser.header())
        .await;
    let submitted = stand.submit_login(&form, &browser, USER, PASSWORD).await;
    let callback = submitted.location().replace(ISSUER, "");
    let first = stand.get(&callback, &browser.header()).await;
    assert_eq!(first.status, StatusCode::FOUND);
    let replayed = stand.get(&callback, &browser.header()).await;
    assert_eq!(replayed.status, StatusCode::BAD_REQUEST, "replayed state");
    assert!(replayed.header("location").is_none());
    let unknown = stand.get("/callback?state=nope&code=x", "").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "unknown state");

    // Expired: the pending request lives 10 minutes.
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    let state = url::Url::parse(&consent.location()).unwrap();
    let id = param(&state, "request").unwrap();
    stand.clock.advance(601);
    let expired = stand
        .get(&format!("/callback?state={id}&code=x"), &browser.header())
        .await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST, "expired state");
}

#[tokio::test]
async fn upstream_access_denied_redirects_to_the_client_with_state_and_iss() {
    let stand = Stand::new().await;
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    let id = param(&url::Url::parse(&consent.location()).unwrap(), "request").unwrap();
    let reply = stand
        .get(
            &format!("/callback?state={id}&error=access_denied"),
            &browser.header(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let back = reply.location_url();
    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&back, "iss").as_deref(), Some(ISSUER));
    assert!(param(&back, "code").is_none());
}

#[tokio::test]
async fn forged_login_assertion_is_refused() {
    let stand = Stand::new().await;
    let mut browser = Browser::default();
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    browser.absorb(&page);
    let consent = stand.approve(&page, PUBLIC, &mut browser).await;
    let id = param(&url::Url::parse(&consent.location()).unwrap(), "request").unwrap();
    let reply = stand
        .get(
            &format!("/callback?state={id}&code=YWxpY2UKOTk5OTk5OTk5OQ.forged"),
            &browser.header(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(
        param(&reply.location_url(), "error").as_deref(),
        Some("access_denied")
    );
}

/// A client as it may be stored: any client_uri, any redirect URIs, any name (records written
/// before registration refused hidden characters included).
async fn store_client(stand: &Stand, id: &str, name: &str, client_uri: &str, redirects: &[&str]) {
    use shared::oauth::client_metadata::ClientMetadata;
    use shared::store::{ClientKind, ClientRecord, ClientStatus};
    let client = ClientRecord {
        client_id: ClientId::from_stored(id),
        kind: ClientKind::Dcr,
        status: ClientStatus::Active,
        metadata: ClientMetadata {
            redirect_uris: redirects
                .iter()
                .map(|r| RedirectUri::from_stored(*r))
                .collect(),
            token_endpoint_auth_method: shared::oauth::client_values::AuthMethod::None,
            grant_types: vec![shared::oauth::client_values::GrantType::AuthorizationCode],
            response_types: vec!["code".into()],
            client_name: Some(name.into()),
            client_uri: (!client_uri.is_empty()).then(|| client_uri.to_owned()),
            ..ClientMetadata::default()
        },
        secret_hash: None,
        registration_token_hash: None,
        resources: Vec::new(),
        created_at: T0 - 600,
        created_ip: None,
        created_user_agent: None,
        last_used_at: None,
        revision: 0,
        expires_at: None,
    };
    assert!(stand.stores.clients.create(&client).await.unwrap());
}

#[tokio::test]
async fn consent_page_names_the_service_being_granted() {
    let stand = Stand::new().await;
    let page = stand
        .get(&stand.authorize_url(PUBLIC, REDIRECT, &[]), "")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    // RESOURCE is https://mcp.example.com/mcp: its host is the service.
    assert!(
        page.body.contains(
            "<bdi>Test Client</bdi></strong> wants to access <strong>mcp.example.com</strong>"
        ),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn client_uri_is_shown_as_the_site_only_when_its_host_matches_a_redirect_uri_host() {
    let stand = Stand::new().await;
    // (client_uri, redirect URIs, host shown as its web site?)
    let cases: &[(&str, &[&str], bool, &str)] = &[
        (
            "https://app.example.org/about",
            &["https://app.example.org/cb"],
            true,
            "same host",
        ),
        (
            "https://APP.example.org/",
            &["https://app.example.org/cb"],
            true,
            "host case",
        ),
        (
            "https://www.app.example.org/",
            &["https://app.example.org/cb"],
            true,
            "subdomain of a redirect host",
        ),
        (
            "https://app.example.org/",
            &["http://127.0.0.1:9/cb", "https://app.example.org/cb"],
            true,
            "any redirect host",
        ),
        (
            "https://claude.ai/",
            &["https://evil.example.net/cb"],
            false,
            "other host",
        ),
        (
            "https://example.org/",
            &["https://app.example.org/cb"],
            false,
            "parent domain (a shared suffix looks alike)",
        ),
        (
            "https://notapp.example.org/",
            &["https://app.example.org/cb"],
            false,
            "suffix without a dot",
        ),
        (
            "https://app.example.org.evil.net/",
            &["https://app.example.org/cb"],
            false,
            "prefix",
        ),
        (
            "https://app.example.org/",
            &["http://127.0.0.1:9/cb"],
            false,
            "loopback redirect",
        ),
        (
            "https://app.example.org/",
            &["org.example.app:/cb"],
            false,
            "private-use redirect",
        ),
    ];
    for (i, (client_uri, redirects, shown, what)) in cases.iter().enumerate() {
        let id = format!("site-{i}");
        store_client(&stand, &id, "Site Client", client_uri, redirects).await;
        let page = stand
            .get(&stand.authorize_url(&id, redirects[0], &[]), "")
            .await;
        assert_eq!(page.status, StatusCode::OK, "{what}: {}", page.body);
        let host = url::Url::parse(client_uri)
            .unwrap()
            .host_str()
            .unwrap()
            .to_owned();
        let site = format!("Its web site: <strong>{host}</strong>");
        if *shown {
            assert!(page.body.contains(&site), "{what}: {}", page.body);
        } else {
            assert!(!page.body.contains("Its web site"), "{what}: {}", page.body);
            assert!(
                page.body.contains("is not verified"),
                "{what}: {}",
                page.body
            );
            if !redirects.iter().any(|r| r.contains(&host)) {
                assert!(!page.body.contains(&host), "{what}: host not shown");
            }
        }
    }
    // No client_uri at all.
    store_client(&stand, "no-site", "No Site", "", &[REDIRECT]).await;
    let page = stand
        .get(&stand.authorize_url("no-site", REDIRECT, &[]), "")
        .await;
    assert!(page.body.contains("It gave no web site."), "{}", page.body);
}

#[tokio::test]
async fn consent_page_strips_hidden_characters_of_stored_names() {
    // A record stored before registration refused them: the page never carries them.
    let stand = Stand::new().await;
    let name = "Good\u{202e}ppA\u{2066}\u{200b}\u{1b}[31m\u{feff}Name";
    store_client(&stand, "hidden", name, "", &[REDIRECT]).await;
    let page = stand
        .get(&stand.authorize_url("hidden", REDIRECT, &[]), "")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for c in ['\u{202e}', '\u{2066}', '\u{200b}', '\u{1b}', '\u{feff}'] {
        assert!(!page.body.contains(c), "{c:?} on the page");
    }
    assert!(
        page.body.contains("<bdi>GoodppA[31mName</bdi>"),
        "{}",
        page.body
    );
}

/// Registers a public client through `POST /register`; returns its id and registration token.
async fn register(stand: &Stand, body: &serde_json::Value) -> (String, String) {
    let reply = stand
        .send(
            axum::http::Request::post("/register")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let info = reply.json();
    (
        info["client_id"].as_str().unwrap().to_owned(),
        info["registration_access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// `PUT /register/<id>` (RFC 7592 §2.2).
async fn update(stand: &Stand, client_id: &str, token: &str, body: &serde_json::Value) -> Reply {
    stand
        .send(
            axum::http::Request::put(format!("/register/{client_id}"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
}

#[tokio::test]
async fn an_rfc7592_change_of_redirect_uris_asks_for_consent_again() {
    let stand = Stand::new().await;
    let metadata = |name: &str, redirects: &[&str]| {
        serde_json::json!({
            "redirect_uris": redirects,
            "token_endpoint_auth_method": "none",
            "client_name": name,
        })
    };
    let (client_id, token) = register(&stand, &metadata("Mine", &[REDIRECT])).await;
    let (_, browser) = stand.browser_flow(&client_id, REDIRECT, &[]).await;
    let authorize = stand.authorize_url(&client_id, REDIRECT, &[]);
    let skipped = stand.get(&authorize, &browser.header()).await;
    assert_eq!(
        skipped.status,
        StatusCode::FOUND,
        "approved: no consent page"
    );
    let consent = stand
        .stores
        .consents
        .get(USER, &client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(consent.covers_redirect_uris(&[RedirectUri::from_stored(REDIRECT)]));

    // A change that leaves redirect_uris alone keeps the approval.
    let mut body = metadata("Mine (renamed)", &[REDIRECT]);
    body["client_id"] = client_id.clone().into();
    assert_eq!(
        update(&stand, &client_id, &token, &body).await.status,
        StatusCode::OK
    );
    let still = stand.get(&authorize, &browser.header()).await;
    assert_eq!(
        still.status,
        StatusCode::FOUND,
        "same redirect URIs: still approved"
    );

    // Adding a redirect URI (the old one kept, so the request itself is unchanged) asks again,
    // and the server-side consent no longer covers the client either.
    let changed = [REDIRECT, "https://elsewhere.example/cb"];
    let mut body = metadata("Mine (renamed)", &changed);
    body["client_id"] = client_id.clone().into();
    assert_eq!(
        update(&stand, &client_id, &token, &body).await.status,
        StatusCode::OK
    );
    let asked = stand.get(&authorize, &browser.header()).await;
    assert_eq!(
        asked.status,
        StatusCode::OK,
        "consent page again: {}",
        asked.body
    );
    assert!(asked.body.contains("wants to access"), "{}", asked.body);
    let changed: Vec<RedirectUri> = changed
        .iter()
        .map(|r| RedirectUri::from_stored(*r))
        .collect();
    assert!(!consent.covers_redirect_uris(&changed));

    // Approving again covers the new set, in the cookie and in the consent record.
    let mut browser = browser;
    browser.absorb(&asked);
    let approved = stand.approve(&asked, &client_id, &mut browser).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    stand
        .login(&approved.location(), &mut browser, USER, PASSWORD)
        .await;
    let consent = stand
        .stores
        .consents
        .get(USER, &client_id)
        .await
        .unwrap()
        .unwrap();
    assert!(consent.covers_redirect_uris(&changed));
    let skipped = stand.get(&authorize, &browser.header()).await;
    assert_eq!(skipped.status, StatusCode::FOUND, "approved again");
}

#[tokio::test]
async fn an_approval_covers_the_redirect_uris_shown_not_a_change_made_while_the_page_was_open() {
    let stand = Stand::new().await;
    let metadata = |redirects: &[&str]| {
        serde_json::json!({
            "redirect_uris": redirects,
            "token_endpoint_auth_method": "none",
            "client_name": "Quick change",
        })
    };
    let (client_id, token) = register(&stand, &metadata(&[REDIRECT])).await;
    let authorize = stand.authorize_url(&client_id, REDIRECT, &[]);
    let mut browser = Browser::default();
    let page = stand.get(&authorize, "").await;
    browser.absorb(&page);
    assert_eq!(page.status, StatusCode::OK);

    // While the consent page is open, the registrant adds a redirect URI (RFC 7592).
    let mut body = metadata(&[REDIRECT, "https://elsewhere.example/cb"]);
    body["client_id"] = client_id.clone().into();
    assert_eq!(
        update(&stand, &client_id, &token, &body).await.status,
        StatusCode::OK
    );
    let approved = stand.approve(&page, &client_id, &mut browser).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    stand
        .login(&approved.location(), &mut browser, USER, PASSWORD)
        .await;

    // The browser's approval is for the URIs the user saw: the changed client is asked again.
    let next = stand.get(&authorize, &browser.header()).await;
    assert_eq!(
        next.status,
        StatusCode::OK,
        "consent page again: {}",
        next.body
    );
}
