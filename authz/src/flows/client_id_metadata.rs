//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25):
//! a client_id that is an https URL names a JSON document describing the client. Fetching it is
//! a server-side request to an address the client chose, so every resolved address is checked
//! before connecting (no loopback, private, link-local, metadata or other special ranges), no
//! redirects are followed, and size and time are bounded. Documents are cached within bounds.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use shared::oauth::client_metadata::ClientMetadata;
use shared::store::{CacheKind, ClientKind, ClientRecord, ClientStatus, Stores};

use crate::error::OAuthError;
use crate::flows::registration::validate_metadata;

/// Largest accepted document.
pub const MAX_DOCUMENT: usize = 5 * 1024;
/// Longest accepted client_id URL.
pub const MAX_URL: usize = 2048;
/// Time allowed for the whole fetch.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Cache lifetime bounds, whatever the document's HTTP cache headers say.
pub const MIN_CACHE_SECS: u64 = 60;
pub const MAX_CACHE_SECS: u64 = 24 * 3600;
pub const DEFAULT_CACHE_SECS: u64 = 3600;
/// How long a failed fetch is remembered (in the store, so every instance shares it): within it
/// the same client_id is refused at once with the same error, without another fetch, so
/// unauthenticated requests cannot make the server wait on the same dead or slow URL again and
/// again.
pub const FAILURE_CACHE_SECS: u64 = 60;
/// Marks a cached failure; a document is JSON, so it never starts with this.
const FAILURE_MARK: &str = "fetch-failed\n";

/// Whether a client_id is meant as a metadata document URL.
pub fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://")
}

/// Name resolution, injectable so tests can point names anywhere.
#[async_trait]
pub trait HostLookup: Send + Sync + 'static {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver.
pub struct SystemLookup;

#[async_trait]
impl HostLookup for SystemLookup {
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 443))
            .await?
            .map(|addr| addr.ip())
            .collect())
    }
}

/// Decides which resolved addresses may be connected to.
pub type AddressPolicy = fn(IpAddr) -> bool;

/// Whether an address is an ordinary public unicast address: not loopback, private, link-local
/// (which holds cloud metadata services), shared (CGNAT), documentation, multicast, reserved,
/// or an IPv6 form that embeds one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let first = seg.first().copied().unwrap_or(0);
            // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
            if seg.get(..6) == Some(&[0x64, 0xff9b, 0, 0, 0, 0]) {
                let [.., hi, lo] = seg;
                let v4 = std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
                return is_public(IpAddr::V4(v4));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && seg.get(1) == Some(&0x0db8) // documentation
                || seg.get(..6) == Some(&[0, 0, 0, 0, 0, 0])) // IPv4-compatible
        }
    }
}

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

/// Why a document was not accepted; every variant becomes `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the client_id URL is not a valid metadata document URL: {0}")]
    BadUrl(&'static str),
    #[error("the client_id URL points at an address that may not be fetched")]
    ForbiddenAddress,
    #[error("the metadata document could not be fetched")]
    Unreachable,
    #[error("the metadata document server answered with status {0}")]
    Status(u16),
    #[error("the metadata document exceeds {MAX_DOCUMENT} bytes")]
    TooLarge,
    #[error("the metadata document was not delivered within {} seconds", TIMEOUT.as_secs())]
    Timeout,
    #[error("the metadata document is invalid: {0}")]
    Invalid(String),
}

impl DocumentError {
    /// Whether the failure came from resolving or fetching (worth remembering), rather than from
    /// the URL alone, which is checked again at no cost.
    fn came_from_fetch(&self) -> bool {
        !matches!(self, Self::BadUrl(_))
    }
}

impl From<DocumentError> for OAuthError {
    fn from(error: DocumentError) -> Self {
        OAuthError::invalid_client(error.to_string(), false)
    }
}

/// Checks the client_id URL itself: https, a host, a path, no fragment, userinfo or dot
/// segments; an IP-literal host must pass the address policy.
fn check_url(client_id: &str, allow: AddressPolicy) -> Result<url::Url, DocumentError> {
    if client_id.len() > MAX_URL {
        return Err(DocumentError::BadUrl("longer than 2048 bytes"));
    }
    let url = url::Url::parse(client_id).map_err(|_| DocumentError::BadUrl("not a URL"))?;
    if url.scheme() != "https" {
        return Err(DocumentError::BadUrl("not https"));
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err(DocumentError::BadUrl("has no path"));
    }
    if url.as_str() != client_id {
        return Err(DocumentError::BadUrl("not in normalised form"));
    }
    if url.fragment().is_some() || client_id.contains('#') {
        return Err(DocumentError::BadUrl("has a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DocumentError::BadUrl("has user information"));
    }
    if client_id.contains("/./") || client_id.contains("/../") {
        return Err(DocumentError::BadUrl("has dot segments"));
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) if !allow(IpAddr::V4(ip)) => Err(DocumentError::ForbiddenAddress),
        Some(url::Host::Ipv6(ip)) if !allow(IpAddr::V6(ip)) => Err(DocumentError::ForbiddenAddress),
        Some(_) => Ok(url),
        None => Err(DocumentError::BadUrl("has no host")),
    }
}

/// Validates a fetched document for `client_id`: its `client_id` equals the URL, it names the
/// client and its redirect URIs, and it describes a public client.
pub fn validate_document(client_id: &str, body: &[u8]) -> Result<ClientMetadata, DocumentError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| DocumentError::Invalid("not a JSON object".into()))?;
    if value.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(DocumentError::Invalid(
            "its client_id does not equal the URL it was fetched from".into(),
        ));
    }
    if value.get("client_name").and_then(Value::as_str).is_none() {
        return Err(DocumentError::Invalid("client_name is missing".into()));
    }
    if value.get("redirect_uris").is_none() {
        return Err(DocumentError::Invalid("redirect_uris is missing".into()));
    }
    match value
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
    {
        None | Some("none") => {}
        Some(_) => {
            return Err(DocumentError::Invalid(
                "only public clients (token_endpoint_auth_method \"none\") are supported".into(),
            ));
        }
    }
    let mut metadata = validate_metadata(&value)
        .map_err(|e| DocumentError::Invalid(e.description().into_owned()))?;
    metadata.token_endpoint_auth_method = "none".into();
    Ok(metadata)
}

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

/// Fetches, validates and caches metadata documents. The HTTP client (and its TLS roots) is
/// built on first use, so start-up does no work for clients that never use a document URL.
pub struct DocumentFetcher {
    lookup: Arc<dyn HostLookup>,
    allow: AddressPolicy,
    roots: Vec<reqwest::Certificate>,
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
            http: std::sync::OnceLock::new(),
        }
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
                builder
                    .build()
                    .inspect_err(|_| tracing::error!("cannot build the metadata document client"))
                    .ok()
            })
            .as_ref()
            .ok_or(DocumentError::Unreachable)
    }

    /// The document's metadata and how long it may be cached.
    pub async fn fetch(
        &self,
        client_id: &str,
    ) -> Result<(ClientMetadata, String, u64), DocumentError> {
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
        let (body, ttl) = tokio::time::timeout(TIMEOUT, fetch)
            .await
            .map_err(|_| DocumentError::Timeout)??;
        let metadata = validate_document(client_id, &body)?;
        let text =
            String::from_utf8(body).map_err(|_| DocumentError::Invalid("not UTF-8".into()))?;
        Ok((metadata, text, ttl))
    }

    /// The client a document URL describes, from the cache or freshly fetched.
    pub async fn resolve(
        &self,
        stores: &Stores,
        client_id: &str,
        now: i64,
    ) -> Result<ClientRecord, OAuthError> {
        if let Some(cached) = stores
            .cache
            .get(CacheKind::ClientMetadataDocument, client_id)
            .await?
        {
            if let Some(reason) = cached.value.strip_prefix(FAILURE_MARK) {
                tracing::info!(reason, "client metadata document refused (recent failure)");
                return Err(OAuthError::invalid_client(reason.to_owned(), false));
            }
            if let Ok(metadata) = validate_document(client_id, cached.value.as_bytes()) {
                return Ok(record(client_id, metadata, cached.stored_at));
            }
        }
        let (metadata, text, ttl) = match self.fetch(client_id).await {
            Ok(fetched) => fetched,
            Err(error) => {
                tracing::info!(reason = %error, "client metadata document refused");
                if error.came_from_fetch() {
                    let failure = format!("{FAILURE_MARK}{error}");
                    // Not remembering the failure costs only a later fetch: the refusal stands.
                    if let Err(e) = stores
                        .cache
                        .put(
                            CacheKind::ClientMetadataDocument,
                            client_id,
                            &failure,
                            FAILURE_CACHE_SECS,
                        )
                        .await
                    {
                        tracing::warn!(error = %e, "metadata document failure not cached");
                    }
                }
                return Err(error.into());
            }
        };
        stores
            .cache
            .put(CacheKind::ClientMetadataDocument, client_id, &text, ttl)
            .await?;
        Ok(record(client_id, metadata, now))
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

fn record(client_id: &str, metadata: ClientMetadata, fetched_at: i64) -> ClientRecord {
    ClientRecord {
        client_id: client_id.to_owned(),
        kind: ClientKind::Cimd,
        status: ClientStatus::Active,
        metadata,
        secret_hash: None,
        registration_token_hash: None,
        created_at: fetched_at,
        created_ip: None,
        created_user_agent: None,
        last_used_at: None,
        revision: 0,
        expires_at: None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use shared::clock::{Clock, ManualClock};
    use shared::store::sqlite::SqliteBackend;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

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

    #[test]
    fn only_public_unicast_addresses_are_allowed() {
        let refused = [
            "127.0.0.1",
            "127.8.9.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::a00:1",
            "ff02::1",
            "2001:db8::1",
            "::127.0.0.1",
        ];
        for ip in refused {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn client_id_urls_are_checked_before_any_request() {
        let cases = [
            ("http://client.example/meta.json", "https"),
            ("https://client.example", "no path"),
            ("https://client.example/", "no path"),
            ("https://client.example/m.json#x", "fragment"),
            ("https://user:pw@client.example/m.json", "user information"),
            ("https://client.example/a/../m.json", "normalised"),
            ("https://CLIENT.example/m.json", "normalised"),
        ];
        for (url, why) in cases {
            let err = check_url(url, is_public).expect_err(url);
            assert!(err.to_string().contains(why), "{url}: {err}");
        }
        for url in [
            "https://10.0.0.1/m.json",
            "https://[::1]/m.json",
            "https://169.254.169.254/latest",
        ] {
            assert_eq!(
                check_url(url, is_public),
                Err(DocumentError::ForbiddenAddress),
                "{url}"
            );
        }
        let long = format!("https://client.example/{}", "a".repeat(MAX_URL));
        assert!(check_url(&long, is_public).is_err());
        assert!(check_url("https://client.example/oauth/metadata.json", is_public).is_ok());
    }

    const URL: &str = "https://client.test/oauth/metadata.json";

    fn document(client_id: &str) -> String {
        serde_json::json!({
            "client_id": client_id,
            "client_name": "Example <script>",
            "redirect_uris": ["http://127.0.0.1:33418/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
        })
        .to_string()
    }

    #[test]
    fn documents_must_describe_themselves() {
        let metadata = validate_document(URL, document(URL).as_bytes()).unwrap();
        assert_eq!(metadata.token_endpoint_auth_method, "none");
        assert_eq!(metadata.client_name.as_deref(), Some("Example <script>"));
        let cases = [
            (document("https://other.test/oauth/metadata.json"), "does not equal"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "client_name"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x"}"#.to_owned(), "redirect_uris"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x","redirect_uris":["https://a.test/cb"],"token_endpoint_auth_method":"client_secret_basic"}"#.to_owned(), "public"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x","redirect_uris":["javascript:alert(1)"]}"#.to_owned(), "forbidden scheme"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"Good\u202eppA","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "bidirectional"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"Cl\u200baude","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "zero-width"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"\u001b]0;x\u0007","redirect_uris":["https://a.test/cb"]}"#.to_owned(), "control"),
            (r#"{"client_id":"https://client.test/oauth/metadata.json","client_name":"x","redirect_uris":["myapp:/cb"]}"#.to_owned(), "reverse domain"),
            ("not json".to_owned(), "JSON"),
        ];
        for (body, why) in cases {
            let err = validate_document(URL, body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(why), "{why}: {err}");
        }
    }

    /// Resolves every name to fixed addresses.
    struct FixedLookup(HashMap<String, Vec<IpAddr>>);

    #[async_trait]
    impl HostLookup for FixedLookup {
        async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
            self.0
                .get(host)
                .cloned()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown"))
        }
    }

    /// A TLS server for `client.test` on loopback that answers every request with `response`
    /// after `delay`, counting connections.
    struct DocumentServer {
        port: u16,
        connections: Arc<AtomicUsize>,
        root: reqwest::Certificate,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for DocumentServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn serve(response: Vec<u8>, delay: Duration) -> DocumentServer {
        serve_for(|_| response, delay).await
    }

    /// Like [`serve`], with the response built from the server's port.
    async fn serve_for(response: impl FnOnce(u16) -> Vec<u8>, delay: Duration) -> DocumentServer {
        let cert = rcgen::generate_simple_self_signed(vec!["client.test".to_owned()]).unwrap();
        let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let response = response(port);
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let response = response.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    tokio::time::sleep(delay).await;
                    let _ = tls.write_all(&response).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        DocumentServer {
            port,
            connections,
            root,
            task,
        }
    }

    fn http_response(status: &str, headers: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn fetcher(server: &DocumentServer, allow: AddressPolicy) -> DocumentFetcher {
        let lookup = FixedLookup(HashMap::from([(
            "client.test".to_owned(),
            vec![IpAddr::from([127, 0, 0, 1])],
        )]));
        DocumentFetcher::build(Arc::new(lookup), allow, vec![server.root.clone()])
    }

    fn url(server: &DocumentServer) -> String {
        format!("https://client.test:{}/oauth/metadata.json", server.port)
    }

    /// The test server lives on loopback; only this policy lets the fetcher reach it.
    fn loopback_only(ip: IpAddr) -> bool {
        ip.is_loopback()
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
    async fn a_valid_document_is_fetched_once_and_cached_within_bounds() {
        let server = serve_for(
            |port| {
                let doc = document(&format!("https://client.test:{port}/oauth/metadata.json"));
                http_response("200 OK", "cache-control: max-age=999999\r\n", &doc)
            },
            Duration::ZERO,
        )
        .await;
        let client_id = url(&server);
        let fetcher = fetcher(&server, loopback_only);
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(1_767_225_600));
        let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), clock);
        let client = fetcher
            .resolve(&stores, &client_id, 1_767_225_600)
            .await
            .unwrap();
        assert_eq!(client.kind, ClientKind::Cimd);
        assert_eq!(client.client_id, client_id);
        assert_eq!(
            client.metadata.redirect_uris,
            ["http://127.0.0.1:33418/callback"]
        );
        let again = fetcher
            .resolve(&stores, &client_id, 1_767_225_600)
            .await
            .unwrap();
        assert_eq!(again.metadata, client.metadata);
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "second lookup served from cache"
        );
        let cached = stores
            .cache
            .get(CacheKind::ClientMetadataDocument, &client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            cached.expires_at - cached.stored_at,
            MAX_CACHE_SECS as i64,
            "max-age is clamped"
        );
    }

    #[tokio::test]
    async fn oversized_redirecting_failing_and_mismatched_documents_are_refused() {
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
            (
                http_response(
                    "200 OK",
                    "",
                    &document("https://elsewhere.test/oauth/metadata.json"),
                ),
                DocumentError::Invalid(
                    "its client_id does not equal the URL it was fetched from".into(),
                ),
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
    async fn a_failed_fetch_is_remembered_briefly_and_answered_without_fetching() {
        let clock = Arc::new(ManualClock::at(1_767_225_600));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), dyn_clock);
        let server = serve(http_response("404 Not Found", "", ""), Duration::ZERO).await;
        let client_id = url(&server);
        let instance = fetcher(&server, loopback_only);
        let first = instance
            .resolve(&stores, &client_id, clock.now())
            .await
            .unwrap_err();
        assert_eq!(first, OAuthError::from(DocumentError::Status(404)));
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);

        clock.advance(FAILURE_CACHE_SECS as i64 - 1);
        let again = instance
            .resolve(&stores, &client_id, clock.now())
            .await
            .unwrap_err();
        assert_eq!(again, first, "the same error");
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            1,
            "answered from the failure cache, no fetch"
        );
        // Another instance (another fetcher over the same store) sees the failure too.
        let other = fetcher(&server, loopback_only);
        assert_eq!(
            other
                .resolve(&stores, &client_id, clock.now())
                .await
                .unwrap_err(),
            first
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);

        clock.advance(1);
        assert_eq!(
            instance
                .resolve(&stores, &client_id, clock.now())
                .await
                .unwrap_err(),
            first
        );
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            2,
            "fetched again once the failure has expired"
        );
    }

    #[tokio::test]
    async fn an_unreachable_document_is_not_fetched_again_within_the_window() {
        let clock = Arc::new(ManualClock::at(1_767_225_600));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let stores = Stores::new(Arc::new(SqliteBackend::in_memory().unwrap()), dyn_clock);
        // A port nobody listens on: every fetch is refused. Lookups are counted instead.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let lookups = Arc::new(AtomicUsize::new(0));
        let fetcher = DocumentFetcher::build(
            Arc::new(CountingLookup(lookups.clone())),
            loopback_only,
            Vec::new(),
        );
        let client_id = format!("https://client.test:{port}/oauth/metadata.json");
        let first = fetcher
            .resolve(&stores, &client_id, clock.now())
            .await
            .unwrap_err();
        assert_eq!(first, OAuthError::from(DocumentError::Unreachable));
        assert_eq!(lookups.load(Ordering::SeqCst), 1);
        let again = fetcher
            .resolve(&stores, &client_id, clock.now())
            .await
            .unwrap_err();
        assert_eq!(again, first);
        assert_eq!(lookups.load(Ordering::SeqCst), 1, "no second fetch");
    }

    /// Resolves `client.test` to loopback, counting lookups (one per fetch attempt).
    struct CountingLookup(Arc<AtomicUsize>);

    #[async_trait]
    impl HostLookup for CountingLookup {
        async fn lookup(&self, _: &str) -> std::io::Result<Vec<IpAddr>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(vec![IpAddr::from([127, 0, 0, 1])])
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
