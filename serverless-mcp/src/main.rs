//! `serverless-mcp`: the authorization server and the MCP server on one port with embedded
//! defaults (`serve`), and the operator's commands (`admin`).

mod admin;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "serverless-mcp",
    version,
    about,
    after_help = "Start here:\n  serverless-mcp serve                      run on the embedded defaults, \
        then paste the printed MCP URL into your client\n  serverless-mcp admin clients list        \
        who registered\n  serverless-mcp check-config --function authz   check a Lambda \
        function's settings\n\nEvery setting (SMCP_*): the README's \"Configuration\" table."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the authorization server and the MCP server together on one port.
    Serve(serve::ServeArgs),
    /// Audit and revoke registered clients, grants and consents.
    Admin(admin::AdminArgs),
    /// Check the SMCP_* settings in the environment as a Lambda function does at start-up
    /// (the shared settings with the function's rules, then the MCP server's), without starting
    /// anything.
    CheckConfig {
        /// Which function's rules [default: authz, the stricter: it also needs SMCP_COOKIE_KEY
        /// with DynamoDB].
        #[arg(long, value_enum, default_value = "authz")]
        function: FunctionArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FunctionArg {
    Authz,
    Mcp,
}

/// The start-up validation of a function's settings: `Config` with its Lambda rules, then
/// `McpSettings`.
fn check_config(function: FunctionArg) -> Result<(), String> {
    let function = match function {
        FunctionArg::Authz => shared::config::Function::Authz,
        FunctionArg::Mcp => shared::config::Function::Mcp,
    };
    mcp::read_config(
        shared::config::env::var,
        shared::config::Runtime::Lambda(function),
    )
    .map_err(|e| format!("configuration: {e}"))?;
    println!("configuration ok");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Exit codes: 0 done, 1 failed, 2 usage (clap), 3 not found (admin).
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await.map_err(|m| (m, 1)),
            Command::CheckConfig { function } => check_config(function).map_err(|m| (m, 1)),
            Command::Admin(args) => admin::run(args)
                .await
                .map_err(|e| (e.to_string(), e.exit_code())),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
