//! Where a router runs: on this machine (a listener, stopped cleanly on Ctrl-C or SIGTERM), or as
//! an AWS Lambda function behind a Function URL with response streaming (`InvokeMode:
//! RESPONSE_STREAM`), so SSE reaches the client as it is written.

use axum::Router;

/// Serves `app` on `listener` until Ctrl-C or SIGTERM, then finishes the requests in flight.
/// The peer address is available to handlers as `ConnectInfo<SocketAddr>`.
/// SSE streams (a session's standalone `GET` stream, a `subscriptions/listen`) stay open until
/// the client leaves: cancel the `cancellation_token` of the router's
/// [`StreamableHttpServerConfig`](crate::StreamableHttpServerConfig) on shutdown to end them, as
/// [`McpHost::run`](crate::McpHost::run) does.
pub async fn serve_local(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    serve_local_until(listener, app, shutdown_signal()).await
}

/// [`serve_local`] stopping when `stop` resolves.
pub(crate) async fn serve_local_until(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
}

/// Runs `app` as the handler of a Lambda function with a streaming Function URL, until the
/// Lambda runtime stops.
pub async fn serve_lambda(app: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run_with_streaming_response(app).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
