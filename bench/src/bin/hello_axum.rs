//! The cold-start reference: the smallest axum server, started the way `serve` is (one address
//! flag, multi-threaded tokio runtime), answering `200 ok` on every path.

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let addr = std::env::args()
        .skip_while(|a| a != "--addr")
        .nth(1)
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("--addr {addr}: cannot listen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let app = axum::Router::new().fallback(|| async { "ok" });
    match axum::serve(listener, app).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server stopped: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
