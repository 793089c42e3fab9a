//! `serverless-mcp serve` for the integration tests: as a child process, or its two routers
//! in-process over a store the test holds. Each test binary uses part of it.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_serverless-mcp");

/// A running `serve`, killed (and its data dir removed) on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Starts `serve --addr 127.0.0.1:0 --data-dir <serve_dir>` with the embedded SQLite store and
/// the issuer derived from the bound address; `data_dir` (which holds `serve_dir`) is cleared
/// first. Returns the server, its base URL read from the first line, and the rest of stdout.
pub fn start(
    data_dir: PathBuf,
    serve_dir: &Path,
    env: &[(&str, &str)],
) -> (Server, Lines<BufReader<ChildStdout>>) {
    start_with(data_dir, serve_dir, &[], env)
}

/// As [`start`], with more `serve` flags.
pub fn start_with(
    data_dir: PathBuf,
    serve_dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Server, Lines<BufReader<ChildStdout>>) {
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(serve_dir)
        .args(args)
        .env_remove("SMCP_ISSUER")
        .env_remove("SMCP_RESOURCE")
        .env("SMCP_STORE", "sqlite")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("serverless-mcp listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    let server = Server {
        child,
        base,
        data_dir,
    };
    (server, lines)
}

/// The authorization server and the MCP server over `stores` as `serve` composes them (keys
/// read in-process), listening on `listener` until the test process ends.
pub async fn serve_in_process(
    listener: tokio::net::TcpListener,
    config: &std::sync::Arc<shared::config::Config>,
    stores: &shared::store::Stores,
    clock: std::sync::Arc<dyn shared::clock::Clock>,
) {
    let aws = shared::aws::Aws::from_env();
    let state = authz::AppState::from_config(config.clone(), stores.clone(), clock.clone(), &aws)
        .await
        .unwrap();
    let tokens = state.tokens.clone();
    let jwks = std::sync::Arc::new(mcp::InProcessJwks::new(move || tokens.jwks()));
    let mcp = mcp::app(mcp::AppState::embedded(
        config.clone(),
        mcp::McpSettings::defaults(config),
        stores,
        clock,
        jwks,
    ));
    let app = authz::app(state).merge(mcp);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
}

/// GET or POST (form) as a browser would: sends the cookies of `jar` and keeps what the answer
/// sets. Redirects are the caller's to follow (`location`).
pub async fn browse(
    http: &reqwest::Client,
    jar: &mut std::collections::HashMap<String, String>,
    url: &str,
    form: Option<&[(&str, &str)]>,
) -> reqwest::Response {
    let cookie = jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let request = match form {
        Some(form) => http.post(url).form(form),
        None => http.get(url),
    };
    let reply = request.header("cookie", cookie).send().await.unwrap();
    for set in reply.headers().get_all("set-cookie") {
        let pair = set.to_str().unwrap().split(';').next().unwrap();
        let (k, v) = pair.split_once('=').unwrap();
        jar.insert(k.to_owned(), v.to_owned());
    }
    reply
}

/// The `Location` of a redirect.
pub fn location(reply: &reqwest::Response) -> String {
    reply
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// The value of the hidden form field `name` in an HTML page (HTML-escaped `+` undone).
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    let end = page[start..].find('"').unwrap() + start;
    page[start..end]
        .replace("&#43;", "+")
        .replace("&#x2b;", "+")
}
