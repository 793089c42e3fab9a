//! What the admin commands ask of the person at the terminal: a confirmation before a
//! destructive change (skipped with `--yes`, refused without it when standard input is not a
//! terminal, and never reached with `--dry-run`), and passwords (a hidden prompt on a terminal,
//! one line of standard input otherwise).

use std::io::{BufRead, IsTerminal as _, Write};

use clap::Args;
use shared::secret::Secret;

use super::Failure;

/// The flags of every destructive command.
#[derive(Debug, Clone, Copy, Args)]
pub struct Danger {
    /// Do it without asking (required when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// List what would be revoked or deleted, and change nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
}

impl Danger {
    /// Asks whether to `action` (e.g. "delete client X and revoke its 2 grants") unless `--yes`
    /// was given: on a terminal, a `[y/N]` question on standard error; elsewhere a refusal
    /// naming `--yes` (exit 2). Not confirming is a failure, and nothing is changed.
    pub fn confirm(&self, action: &str) -> Result<(), Failure> {
        let stdin = std::io::stdin();
        let terminal = stdin.is_terminal();
        confirm_with(
            action,
            self.yes,
            terminal,
            &mut stdin.lock(),
            &mut std::io::stderr(),
        )
    }
}

fn confirm_with(
    action: &str,
    yes: bool,
    terminal: bool,
    input: &mut impl BufRead,
    prompt: &mut impl Write,
) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !terminal {
        return Err(Failure::Usage(format!(
            "refusing to {action} without --yes (standard input is not a terminal to ask on; \
             --dry-run shows what would change)"
        )));
    }
    let asked = write!(prompt, "{action}? [y/N] ").and_then(|()| prompt.flush());
    let mut answer = String::new();
    let read = input.read_line(&mut answer);
    if asked.is_err() || read.is_err() {
        return Err(Failure::Failed(format!(
            "cannot ask whether to {action}; nothing changed (pass --yes to skip the question)"
        )));
    }
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::Failed(format!("not confirmed: did not {action}")))
    }
}

/// A new password: on a terminal, typed twice at a hidden prompt (they must match); otherwise
/// the first line of standard input (`printf '%s' "$PW" | serverless-mcp admin users add NAME`).
pub fn new_password(username: &str) -> Result<Secret, Failure> {
    if std::io::stdin().is_terminal() {
        let failed = |e: std::io::Error| {
            Failure::Failed(format!("reading the password at the prompt: {}", e.kind()))
        };
        let first =
            rpassword::prompt_password(format!("password for {username}: ")).map_err(failed)?;
        let again = rpassword::prompt_password("again: ").map_err(failed)?;
        if first != again {
            return Err(Failure::Failed(
                "the two passwords differ; nothing changed".into(),
            ));
        }
        return Ok(Secret::new(first));
    }
    read_line_password(&mut std::io::stdin().lock())
}

fn read_line_password(input: &mut impl BufRead) -> Result<Secret, Failure> {
    let mut line = String::new();
    input.read_line(&mut line).map_err(|e| {
        Failure::Failed(format!(
            "reading the password from standard input: {}",
            e.kind()
        ))
    })?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(yes: bool, terminal: bool, answer: &str) -> (Result<(), Failure>, String) {
        let mut prompt = Vec::new();
        let result = confirm_with(
            "delete client c1",
            yes,
            terminal,
            &mut answer.as_bytes(),
            &mut prompt,
        );
        (result, String::from_utf8(prompt).unwrap())
    }

    #[test]
    fn yes_skips_the_question() {
        let (result, prompt) = ask(true, false, "");
        assert!(result.is_ok());
        assert_eq!(prompt, "");
    }

    #[test]
    fn without_a_terminal_it_refuses_and_names_yes() {
        let (result, prompt) = ask(false, false, "y\n");
        let failure = result.unwrap_err();
        assert_eq!(failure.exit_code(), 2);
        let message = failure.to_string();
        assert!(
            message.starts_with("refusing to delete client c1 without --yes"),
            "{message}"
        );
        assert!(!message.contains('\n'), "one line: {message}");
        assert_eq!(prompt, "", "nothing asked");
    }

    #[test]
    fn on_a_terminal_only_yes_confirms() {
        for answer in ["y\n", "YES\n", " yes \n"] {
            let (result, prompt) = ask(false, true, answer);
            assert!(result.is_ok(), "{answer:?}");
            assert_eq!(prompt, "delete client c1? [y/N] ");
        }
        for answer in ["\n", "n\n", "maybe\n", ""] {
            let (result, _) = ask(false, true, answer);
            let failure = result.unwrap_err();
            assert_eq!(failure.exit_code(), 1, "{answer:?}");
            assert_eq!(
                failure.to_string(),
                "not confirmed: did not delete client c1"
            );
        }
    }

    #[test]
    fn a_piped_password_is_its_first_line() {
        let secret = read_line_password(&mut "a long enough password\r\nrest".as_bytes()).unwrap();
        assert_eq!(secret.expose(), "a long enough password");
    }
}
