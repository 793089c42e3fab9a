//! Test doubles for document fetching: fixed and counting resolvers, and a TLS document server
//! on loopback.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::policy::AddressPolicy;
use super::{DocumentFetcher, HostLookup};

/// Resolves every name to fixed addresses.
pub(crate) struct FixedLookup(pub HashMap<String, Vec<IpAddr>>);

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
pub(crate) struct DocumentServer {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    pub root: reqwest::Certificate,
    pub task: tokio::task::JoinHandle<()>,
}

impl Drop for DocumentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn serve(response: Vec<u8>, delay: Duration) -> DocumentServer {
    serve_for(|_| response, delay).await
}

/// Like [`serve`], with the response built from the server's port.
pub(crate) async fn serve_for(
    response: impl FnOnce(u16) -> Vec<u8>,
    delay: Duration,
) -> DocumentServer {
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

pub(crate) fn http_response(status: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub(crate) fn fetcher(server: &DocumentServer, allow: AddressPolicy) -> DocumentFetcher {
    let lookup = FixedLookup(HashMap::from([(
        "client.test".to_owned(),
        vec![IpAddr::from([127, 0, 0, 1])],
    )]));
    DocumentFetcher::build(Arc::new(lookup), allow, vec![server.root.clone()])
}

pub(crate) fn url(server: &DocumentServer) -> String {
    format!("https://client.test:{}/oauth/metadata.json", server.port)
}

/// The test server lives on loopback; only this policy lets the fetcher reach it.
pub(crate) fn loopback_only(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// Resolves `client.test` to loopback, counting lookups (one per fetch attempt).
pub(crate) struct CountingLookup(pub Arc<AtomicUsize>);

#[async_trait]
impl HostLookup for CountingLookup {
    async fn lookup(&self, _: &str) -> std::io::Result<Vec<IpAddr>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(vec![IpAddr::from([127, 0, 0, 1])])
    }
}
