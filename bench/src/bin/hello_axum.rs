//! The reference server of the benchmarks: the smallest axum server, started the way `serve` is
//! (one address flag, multi-threaded tokio runtime), answering `200 ok` on every path. With
//! `--body-file PATH` it answers every request with that file's bytes as `application/json`
//! instead: the same-size limit of an MCP answer (bench/run.sh's `limit` stage), the cost of the
//! HTTP stack alone for a body that large.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::header;

fn flag(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let addr = flag("--addr")
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let body = match flag("--body-file").map(std::fs::read).transpose() {
        Ok(body) => body.map(Bytes::from),
        Err(e) => {
            eprintln!("--body-file: cannot read: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("--addr {addr}: cannot listen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let app = match body {
        None => axum::Router::new().fallback(|| async { "ok" }),
        Some(body) => axum::Router::new().fallback(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    };
    match axum::serve(listener, app).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server stopped: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
