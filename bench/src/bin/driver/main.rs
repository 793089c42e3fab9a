//! The load driver of `bench/run.sh`. Every subcommand prints one JSON object on stdout.
//!
//! - `coldstart`: start a binary N times, each on a fresh port (and a fresh copy of a data dir),
//!   and time process start to the first `200` answer; with `--via`, the binary is a Lambda
//!   function polling an emulator's Runtime API and one request through the emulator is timed.
//! - `seed`: write a public client and N authorization codes (known PKCE verifier) straight into
//!   `serve`'s SQLite store, for `redeem`.
//! - `redeem`: exchange those codes at `POST /token` with bounded concurrency.
//! - `mint`: an access token for the MCP endpoint, signed with the data dir's key.

mod coldstart;
mod tokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::Value;

use coldstart::coldstart;
use tokens::{mint, redeem, seed};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Time process start to first `200` on `path`, `runs` times. In `command`, `{addr}` becomes
    /// a free loopback address and `{data}` a fresh copy of `--template`.
    Coldstart {
        #[arg(long, default_value_t = 15)]
        runs: usize,
        #[arg(long, default_value = "/")]
        path: String,
        #[arg(long)]
        template: Option<PathBuf>,
        /// A Lambda emulator's invoke address (`cargo lambda watch --only-lambda-apis`): send one
        /// request there right after the start and time its `200` (the emulator holds it until
        /// the function has started and asked for work), instead of polling `{addr}`.
        #[arg(long)]
        via: Option<SocketAddr>,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Store a public client and `codes` authorization codes in `<data-dir>/state.db`.
    Seed {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        resource: String,
        #[arg(long)]
        codes: usize,
        /// Where the codes (secrets, for the benchmark only) are written.
        #[arg(long)]
        out: PathBuf,
    },
    /// Redeem seeded codes at `<url>/token` until they run out or `seconds` pass.
    Redeem {
        #[arg(long)]
        url: String,
        #[arg(long)]
        codes_file: PathBuf,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// A one-hour access token for `resource`, signed with the data dir's key.
    Mint {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        resource: String,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Cmd::Coldstart {
            runs,
            path,
            template,
            via,
            command,
        } => coldstart(runs, &path, template.as_deref(), via, &command),
        Cmd::Seed {
            data_dir,
            resource,
            codes,
            out,
        } => block_on(seed(&data_dir, &resource, codes, &out)),
        Cmd::Redeem {
            url,
            codes_file,
            concurrency,
            seconds,
        } => block_on(redeem(&url, &codes_file, concurrency, seconds)),
        Cmd::Mint {
            data_dir,
            issuer,
            resource,
        } => block_on(mint(&data_dir, &issuer, &resource)),
    };
    match result {
        Ok(value) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-driver: {e}");
            ExitCode::FAILURE
        }
    }
}

fn block_on<F: std::future::Future<Output = Result<Value, String>>>(
    future: F,
) -> Result<Value, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?
        .block_on(future)
}
