//! The one way keys are fetched from elsewhere: a JSON document (RFC 8414 or OpenID Connect
//! discovery metadata, then the RFC 7517 JWK Set it names) read over HTTP(S) with a bounded
//! time, no redirects and a bounded body. The resource server fetches the authorization server's
//! keys with it, and the Cognito login the user pool's; when to refetch is
//! [`super::refresh`]'s rule.

use std::time::Duration;

use serde::de::DeserializeOwned;

/// The whole fetch (connect, headers, body) of one document, whatever the client's own timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Larger documents are refused: a JWK Set of a few keys is a few kilobytes.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why a document could not be had, in words that carry no response content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// The HTTP client for [`get_json`]: [`FETCH_TIMEOUT`], redirects not followed (a document's
/// location is exactly the URL named), TLS with the platform's roots.
pub fn client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, FetchError> {
    builder
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| FetchError("cannot build the HTTP client".into()))
}

/// Reads the JSON document at `url` as `T`; `what` names it in errors ("jwks", "discovery").
/// Refused: a non-success status, a body over [`MAX_DOCUMENT_BYTES`], anything but `T`.
pub async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &str,
) -> Result<T, FetchError> {
    let failed = |cause: &str| FetchError(format!("{what} ({url}): {cause}"));
    let mut response = http
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            failed(if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            })
        })?;
    if !response.status().is_success() {
        return Err(failed(&format!("answered {}", response.status())));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(failed("body too large"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| failed("body unreadable"))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(failed("body too large"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|_| failed("not the expected JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves each connection one canned HTTP/1.1 response, then closes it.
    async fn serve(response: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            }
        });
        format!("http://{addr}/jwks")
    }

    fn answer(status: &str, body: &[u8], extra: &str) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}connection: close\r\n\r\n"
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn http() -> reqwest::Client {
        client(reqwest::Client::builder()).unwrap()
    }

    #[tokio::test]
    async fn reads_a_document_and_refuses_what_is_not_one() {
        let ok = serve(answer(
            "200 OK",
            br#"{"keys":[]}"#,
            "content-length: 11\r\n",
        ))
        .await;
        let set: serde_json::Value = get_json(&http(), &ok, "jwks").await.unwrap();
        assert_eq!(set, serde_json::json!({"keys": []}));

        let moved = serve(answer(
            "302 Found",
            b"",
            "location: http://127.0.0.1:1/\r\n",
        ))
        .await;
        let e = get_json::<serde_json::Value>(&http(), &moved, "jwks")
            .await
            .unwrap_err();
        assert!(e.0.ends_with("answered 302 Found"), "{e}");

        let html = serve(answer("200 OK", b"<html>", "content-length: 6\r\n")).await;
        let e = get_json::<serde_json::Value>(&http(), &html, "jwks")
            .await
            .unwrap_err();
        assert!(e.0.ends_with("not the expected JSON"), "{e}");
    }

    #[tokio::test]
    async fn refuses_a_body_over_the_limit_declared_or_not() {
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        let declared = serve(answer(
            "200 OK",
            &big,
            &format!("content-length: {}\r\n", big.len()),
        ))
        .await;
        let e = get_json::<serde_json::Value>(&http(), &declared, "jwks")
            .await
            .unwrap_err();
        assert!(e.0.ends_with("body too large"), "{e}");
        // No length announced: the limit applies while reading.
        let streamed = serve(answer("200 OK", &big, "")).await;
        let e = get_json::<serde_json::Value>(&http(), &streamed, "jwks")
            .await
            .unwrap_err();
        assert!(e.0.ends_with("body too large"), "{e}");
    }
}
