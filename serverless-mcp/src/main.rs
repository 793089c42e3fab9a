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
    after_help = "Examples:\n  \
                  serverless-mcp serve                      one local process on 127.0.0.1:8080\n  \
                  serverless-mcp admin clients list         who registered, newest first\n  \
                  serverless-mcp admin audit tail           the latest audit events\n  \
                  serverless-mcp check-config --function mcp  validate a Lambda function's settings\n\n\
                  Every setting is an SMCP_* environment variable: see the table under\n\
                  \"Configuration\" in README.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the authorization server and the MCP server together on one port.
    Serve(serve::ServeArgs),
    /// Audit and revoke registered clients, grants, consents and users of the store.
    #[command(after_help = admin::HELP)]
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every command below `admin` (and `admin` itself), with its path.
    fn admin_commands(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let path = format!("{path} {}", sub.get_name());
            out.push((path.clone(), sub.clone()));
            admin_commands(sub, &path, out);
        }
    }

    #[test]
    fn help_teaches_with_examples_and_points_to_the_settings_table() {
        let mut root = Cli::command();
        root.build();
        let help = root.render_long_help().to_string();
        assert!(help.contains("serverless-mcp admin clients list"), "{help}");
        assert!(help.contains("README.md"), "{help}");
        let admin = root
            .find_subcommand("admin")
            .expect("an admin command")
            .clone();
        let mut commands = vec![("admin".to_owned(), admin.clone())];
        admin_commands(&admin, "admin", &mut commands);
        assert!(
            commands.len() > 25,
            "every admin command: {}",
            commands.len()
        );
        for (path, mut command) in commands {
            let help = command.render_long_help().to_string();
            assert!(
                help.contains("Example"),
                "`{path} --help` shows no example:\n{help}"
            );
            assert!(
                help.contains("\"Configuration\" in README.md"),
                "`{path} --help` does not point to the settings table:\n{help}"
            );
            assert!(
                command.get_about().is_some(),
                "`{path}` says what it does in one line"
            );
        }
    }
}
