//! The guarded HTTPS fetch of a metadata document: every resolved address is checked against
//! the policy before connecting, no redirects are followed, and size and time are bounded.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{AddressPolicy, HostLookup, SystemLookup, check_url, is_public};
use super::{DocumentError, DocumentSource, FetchedDocument, MAX_DOCUMENT, TIMEOUT};

/// Cache lifetime bounds, whatever the document's HTTP cache headers say.
pub const MIN_CACHE_SECS: u64 = 60;
pub const MAX_CACHE_SECS: u64 = 24 * 3600;
pub const DEFAULT_CACHE_SECS: u64 = 3600;

/// A reqwest resolver that resolves through [`HostLookup`] and drops every address the policy
/// refuses, failing when none is left: the check happens before any connection is attempted.
struct GuardedResolver {
    lookup: Arc<dyn HostLookup>,
    allow: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup.clone();
        let allow = self.allow;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all = lookup.lookup(&host).await?;
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|ip| allow(*ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() || allowed.len() != all.len() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("address not allowed")
    }
}

impl std::error::Error for Refused {}

/// Cache lifetime from `Cache-Control`, clamped to the bounds.
fn cache_secs(headers: &reqwest::header::HeaderMap) -> u64 {
    let Some(value) = headers
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    else {
        return DEFAULT_CACHE_SECS;
    };
    let directives: Vec<&str> = value.split(',').map(str::trim).collect();
    if directives
        .iter()
        .any(|d| d.eq_ignore_ascii_case("no-store") || d.eq_ignore_ascii_case("no-cache"))
    {
        return MIN_CACHE_SECS;
    }
    directives
        .iter()
        .find_map(|d| d.strip_prefix("max-age="))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_CACHE_SECS)
        .clamp(MIN_CACHE_SECS, MAX_CACHE_SECS)
}

/// The CA certificates of a PEM file, checked to be usable as trust roots: for `serve`'s
/// local-testing fetcher (`SMCP_CIMD_TEST_CA`), never for production.
pub fn test_ca_certificates(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let roots = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|_| "not a PEM certificate file".to_owned())?;
    if roots.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    // Building a client parses every certificate as a trust anchor, so a bad one is reported
    // at start-up rather than at the first document fetch.
    reqwest::Client::builder()
        .tls_certs_merge(roots.clone())
        .build()
        .map_err(|_| "holds a certificate that cannot be used as a trust root".to_owned())?;
    Ok(roots)
}

/// Fetches metadata documents over HTTPS under the address policy. The HTTP client (and its TLS roots) is
/// built on first use, so start-up does no work for clients that never use a document URL.
pub struct DocumentFetcher {
    lookup: Arc<dyn HostLookup>,
    allow: AddressPolicy,
    roots: Vec<reqwest::Certificate>,
    overrides: Vec<(String, SocketAddr)>,
    http: std::sync::OnceLock<Option<reqwest::Client>>,
}

impl Default for DocumentFetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl DocumentFetcher {
    /// The production fetcher: system resolver, public addresses only, system TLS roots.
    pub fn new() -> Self {
        Self::build(Arc::new(SystemLookup), is_public, Vec::new())
    }

    /// A fetcher with its own resolver, address policy and extra trusted roots (tests).
    pub fn build(
        lookup: Arc<dyn HostLookup>,
        allow: AddressPolicy,
        roots: Vec<reqwest::Certificate>,
    ) -> Self {
        Self {
            lookup,
            allow,
            roots,
            overrides: Vec::new(),
            http: std::sync::OnceLock::new(),
        }
    }

    /// Local testing only (`serve` with `SMCP_CIMD_TEST_RESOLVE`): these host names connect to
    /// the given addresses (and ports) instead of being resolved. The address policy is not
    /// asked about them, so the configuration admits loopback addresses only.
    pub fn with_test_overrides(mut self, overrides: Vec<(String, SocketAddr)>) -> Self {
        self.overrides = overrides;
        self
    }

    fn http(&self) -> Result<&reqwest::Client, DocumentError> {
        self.http
            .get_or_init(|| {
                let mut builder = reqwest::Client::builder()
                    .dns_resolver(Arc::new(GuardedResolver {
                        lookup: self.lookup.clone(),
                        allow: self.allow,
                    }))
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .https_only(true)
                    .timeout(TIMEOUT)
                    .connect_timeout(TIMEOUT)
                    .user_agent(concat!("serverless-mcp/", env!("CARGO_PKG_VERSION")));
                if !self.roots.is_empty() {
                    builder = builder.tls_certs_merge(self.roots.clone());
                }
                for (host, addr) in &self.overrides {
                    builder = builder.resolve(host, *addr);
                }
                builder
                    .build()
                    .inspect_err(|_| tracing::error!("cannot build the metadata document client"))
                    .ok()
            })
            .as_ref()
            .ok_or(DocumentError::Unreachable)
    }
}

#[async_trait]
impl DocumentSource for DocumentFetcher {
    async fn fetch(&self, client_id: &str) -> Result<FetchedDocument, DocumentError> {
        let url = check_url(client_id, self.allow)?;
        let fetch = async {
            let mut response = self
                .http()?
                .get(url)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| classify(&e))?;
            if response.status() != reqwest::StatusCode::OK {
                return Err(DocumentError::Status(response.status().as_u16()));
            }
            if response
                .content_length()
                .is_some_and(|len| len > MAX_DOCUMENT as u64)
            {
                return Err(DocumentError::TooLarge);
            }
            let ttl = cache_secs(response.headers());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
                if body.len() + chunk.len() > MAX_DOCUMENT {
                    return Err(DocumentError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok((body, ttl))
        };
        let (body, cache_secs) = tokio::time::timeout(TIMEOUT, fetch)
            .await
            .map_err(|_| DocumentError::Timeout)??;
        Ok(FetchedDocument { body, cache_secs })
    }
}

fn classify(error: &reqwest::Error) -> DocumentError {
    if error.is_timeout() {
        return DocumentError::Timeout;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<Refused>() {
            return DocumentError::ForbiddenAddress;
        }
        source = cause.source();
    }
    DocumentError::Unreachable
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::*;
    use crate::cimd::testing::{fetcher, http_response, loopback_only, serve, url};

    #[test]
    fn test_ca_certificates_must_be_pem_certificates() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        assert_eq!(
            test_ca_certificates(cert.cert.pem().as_bytes())
                .unwrap()
                .len(),
            1
        );
        assert!(test_ca_certificates(b"").is_err());
        assert!(test_ca_certificates(b"not pem").is_err());
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(test_ca_certificates(garbage).is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_refused_addresses_are_never_connected() {
        let server = serve(http_response("200 OK", "", "{}"), Duration::ZERO).await;
        let err = fetcher(&server, is_public)
            .fetch(&url(&server))
            .await
            .unwrap_err();
        assert_eq!(err, DocumentError::ForbiddenAddress);
        assert_eq!(server.connections.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn oversized_redirecting_and_failing_documents_are_refused() {
        let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_DOCUMENT));
        let cases: Vec<(Vec<u8>, DocumentError)> = vec![
            (http_response("200 OK", "", &big), DocumentError::TooLarge),
            (
                // No content-length: the cap applies while streaming.
                format!("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{big}").into_bytes(),
                DocumentError::TooLarge,
            ),
            (
                http_response(
                    "302 Found",
                    "location: https://169.254.169.254/latest\r\n",
                    "",
                ),
                DocumentError::Status(302),
            ),
            (
                http_response("404 Not Found", "", ""),
                DocumentError::Status(404),
            ),
        ];
        for (response, expected) in cases {
            let server = serve(response, Duration::ZERO).await;
            let err = fetcher(&server, loopback_only)
                .fetch(&url(&server))
                .await
                .unwrap_err();
            assert_eq!(err, expected);
        }
    }

    #[tokio::test]
    async fn a_slow_document_times_out_within_the_bound() {
        let server = serve(http_response("200 OK", "", "{}"), Duration::from_secs(30)).await;
        let started = std::time::Instant::now();
        let err = fetcher(&server, loopback_only)
            .fetch(&url(&server))
            .await
            .unwrap_err();
        assert_eq!(err, DocumentError::Timeout);
        assert!(started.elapsed() < TIMEOUT + Duration::from_secs(2));
    }
}
