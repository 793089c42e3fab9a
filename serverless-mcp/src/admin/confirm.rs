//! The guard of destructive commands: `--dry-run` shows what would change and changes nothing;
//! otherwise a terminal is asked, and without a terminal `--yes` must say it.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use clap::Args;

use super::Failure;

/// The flags every destructive command takes.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Guard {
    /// Do it without asking (required when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would be revoked or deleted, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// What the guard decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Go {
    /// Make the change.
    Ahead,
    /// `--dry-run`: what would change was shown; stop here.
    DryRun,
}

impl Guard {
    /// Asks before `what` (e.g. "delete client X and revoke its 3 grant(s)"): `--dry-run`
    /// stops, `--yes` goes ahead, a terminal is asked (y/N), anything else is refused.
    pub fn check(&self, what: &str) -> Result<Go, Failure> {
        self.check_with(
            what,
            std::io::stdin().is_terminal(),
            &mut std::io::stdin().lock(),
        )
    }

    fn check_with(
        &self,
        what: &str,
        terminal: bool,
        input: &mut dyn std::io::BufRead,
    ) -> Result<Go, Failure> {
        if self.dry_run {
            eprintln!("dry run: would {what}; nothing changed");
            return Ok(Go::DryRun);
        }
        if self.yes {
            return Ok(Go::Ahead);
        }
        if !terminal {
            return Err(Failure::Failed(format!(
                "this would {what}: add --yes to do it without a terminal to confirm on \
                 (or --dry-run to see what would change)"
            )));
        }
        eprint!("{what}? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        input
            .read_line(&mut answer)
            .map_err(|e| Failure::Failed(format!("reading the answer: {}", e.kind())))?;
        if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            Ok(Go::Ahead)
        } else {
            Err(Failure::Failed("cancelled: nothing changed".into()))
        }
    }
}

/// Reads a password: from a hidden prompt on a terminal (asked twice), else one line of
/// standard input.
pub fn read_password() -> Result<String, Failure> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password (12 characters or more): ")
            .map_err(|e| Failure::Failed(format!("reading the password: {}", e.kind())))?;
        let again = rpassword::prompt_password("the same password again: ")
            .map_err(|e| Failure::Failed(format!("reading the password: {}", e.kind())))?;
        if first != again {
            return Err(Failure::Failed(
                "the two passwords differ: nothing changed".into(),
            ));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::Failed(format!(
            "reading the password from standard input: {}",
            e.kind()
        ))
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(yes: bool, dry_run: bool) -> Guard {
        Guard { yes, dry_run }
    }

    #[test]
    fn destructive_commands_ask_or_need_yes() {
        let mut none: &[u8] = b"";
        assert_eq!(
            guard(false, true)
                .check_with("x", false, &mut none)
                .unwrap(),
            Go::DryRun
        );
        // --dry-run wins over --yes: nothing changes.
        assert_eq!(
            guard(true, true).check_with("x", true, &mut none).unwrap(),
            Go::DryRun
        );
        assert_eq!(
            guard(true, false)
                .check_with("x", false, &mut none)
                .unwrap(),
            Go::Ahead
        );
        let refused = guard(false, false)
            .check_with("delete client c", false, &mut none)
            .unwrap_err();
        assert!(refused.to_string().contains("--yes"), "{refused}");
        let mut yes: &[u8] = b"y\n";
        assert_eq!(
            guard(false, false).check_with("x", true, &mut yes).unwrap(),
            Go::Ahead
        );
        for answer in [&b"n\n"[..], b"\n", b"maybe\n", b""] {
            let mut input = answer;
            assert!(
                guard(false, false)
                    .check_with("x", true, &mut input)
                    .is_err()
            );
        }
    }
}
