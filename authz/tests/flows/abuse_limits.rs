//! Abuse limits at the authorization endpoint: pending authorization requests per source
//! address (an IPv6 caller per /64), answered with a 429 page and `Retry-After`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use shared::config::keys;

use crate::support::*;

async fn authorize_from(stand: &Stand, ip: &str) -> Reply {
    let mut request = Request::get(stand.authorize_url(PUBLIC, REDIRECT, &[]))
        .body(Body::empty())
        .unwrap();
    let addr = SocketAddr::new(ip.parse().unwrap(), 50000);
    request.extensions_mut().insert(ConnectInfo(addr));
    stand.send(request).await
}

#[tokio::test]
async fn pending_authorizations_are_limited_per_source_with_a_page() {
    let config = config_with(ISSUER, &[(keys::AUTHORIZE_RATE_LIMIT, "2/300".to_owned())]);
    let stand = Stand::with_config(config).await;
    let cases = [
        ("first address of a /64", "2001:db8:5:6::1", StatusCode::OK),
        ("same /64", "2001:db8:5:6::2", StatusCode::OK),
        (
            "same /64, over",
            "2001:db8:5:6:ffff::1",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        ("another /64", "2001:db8:5:7::1", StatusCode::OK),
        ("IPv4", "203.0.113.9", StatusCode::OK),
        (
            "the same IPv4, mapped",
            "::ffff:203.0.113.9",
            StatusCode::OK,
        ),
        (
            "the same IPv4, over",
            "203.0.113.9",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        ("another IPv4", "203.0.113.10", StatusCode::OK),
    ];
    for (what, ip, expected) in cases {
        let reply = authorize_from(&stand, ip).await;
        assert_eq!(reply.status, expected, "{what}: {}", reply.body);
        if expected == StatusCode::TOO_MANY_REQUESTS {
            // A page for the browser, never a redirect to the client.
            assert!(reply.header("location").is_none(), "{what}");
            assert!(
                reply
                    .header(header::CONTENT_TYPE.as_str())
                    .is_some_and(|ct| ct.starts_with("text/html")),
                "{what}"
            );
            assert!(reply.body.contains("too_many_requests"), "{what}");
            let retry: i64 = reply.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=300).contains(&retry), "{what}: {retry}");
            assert!(reply.set_cookies.is_empty(), "{what}: nothing started");
        }
    }
    stand.clock.advance(300);
    let reply = authorize_from(&stand, "2001:db8:5:6::1").await;
    assert_eq!(reply.status, StatusCode::OK, "a new window");
}
