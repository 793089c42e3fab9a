//! `admin keys rotate`: a new local signing key, the old one kept published (as the previous
//! key) so tokens it signed verify until they expire; for a KMS key, the keys published now and
//! a pointer to the template's key-slot flip, which rotates without drifting the stack.

use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use serde_json::json;
use shared::audit::AuditEvent;
use shared::config::SigningKeyConfig;
use shared::token::{LocalSigner, Signer as _};

use super::{Ctx, Failure};

/// The signing key files in the data dir (`shared::token::signer::local`).
const CURRENT_KEY_FILE: &str = "signing-key.pem";
const PREVIOUS_KEY_FILE: &str = "previous-signing-key.pem";
/// Tokens live at most an hour: a previous key younger than this may still verify live tokens.
const PREVIOUS_KEY_NEEDED: Duration = Duration::from_secs(3600 + 120);

/// `admin keys` commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key current; the old one stays published until the next rotation.
    #[command(after_help = super::help::KEYS_ROTATE)]
    Rotate {
        /// Rotate even if the previous key may still be needed (tokens it signed then fail).
        #[arg(long)]
        force: bool,
    },
}

/// Runs one `admin keys` command.
pub async fn run(ctx: &Ctx, command: KeysCommand) -> Result<(), Failure> {
    let KeysCommand::Rotate { force } = command;
    match &ctx.config.signing_key {
        SigningKeyConfig::Kms { key_id, previous } => {
            // Loads the keys as the authorization server does, so an unreadable previous key
            // shows here before a token fails.
            let signer = authz::signer(&ctx.config, &ctx.aws)
                .await
                .map_err(|e| Failure::Failed(e.to_string()))?;
            let published: Vec<String> = signer.public_jwks().into_iter().map(|k| k.kid).collect();
            let missing = previous
                .len()
                .saturating_sub(published.len().saturating_sub(1));
            ctx.out.done(
                &format!(
                    "published kids: {} (current first){}\n{}",
                    published.join(", "),
                    if missing > 0 {
                        format!(
                            "\nwarning: {missing} key(s) of {} could not be read (or name the current key) and are not published",
                            shared::config::keys::SIGNING_KEY_PREVIOUS
                        )
                    } else {
                        String::new()
                    },
                    kms_advice(key_id)
                ),
                &json!({
                    "signing_key": key_id,
                    "previous": previous,
                    "published_kids": published,
                    "unreadable_previous": missing,
                }),
            );
            Ok(())
        }
        SigningKeyConfig::Local => rotate_local(ctx, &ctx.config.data_dir, force).await,
    }
}

fn kms_advice(key_id: &str) -> String {
    format!(
        "The signing key is the KMS key {key_id}; this command does not rotate KMS keys.\n\
         A stack deployed from deploy/template.yaml owns its signing key: rotate by flipping the\n\
         template parameter SigningKeySlot (blue <-> green) and redeploying, e.g.\n  \
         sam deploy --template-file deploy/template.yaml --parameter-overrides SigningKeySlot=green\n\
         CloudFormation then creates the new key, moves the alias and the functions to it and\n\
         schedules the old key's deletion; see \"Rotating keys\" in deploy/README.md, which also\n\
         covers keeping the old key published with {previous}.\n\
         Do not create keys, move the alias or change the functions' settings by hand: the stack\n\
         would drift and its next deployment would undo the change.",
        previous = shared::config::keys::SIGNING_KEY_PREVIOUS,
    )
}

async fn rotate_local(ctx: &Ctx, dir: &Path, force: bool) -> Result<(), Failure> {
    let current = dir.join(CURRENT_KEY_FILE);
    if !current.is_file() {
        return Err(Failure::Failed(format!(
            "no signing key at {} (start `serve` once with this data dir, or pass --data-dir)",
            current.display()
        )));
    }
    let previous_age = std::fs::metadata(dir.join(PREVIOUS_KEY_FILE))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|at| SystemTime::now().duration_since(at).ok());
    if let Some(age) = previous_age
        && age < PREVIOUS_KEY_NEEDED
        && !force
    {
        return Err(Failure::Failed(format!(
            "the previous key was retired {} minute(s) ago and may still verify live tokens; \
             rotate again after an hour, or pass --force",
            age.as_secs() / 60
        )));
    }
    let path = dir.to_path_buf();
    let before = tokio::task::spawn_blocking({
        let path = path.clone();
        move || LocalSigner::load_or_create(&path)
    })
    .await
    .map_err(|_| Failure::Failed("key loading task failed".into()))?
    .map_err(|e| Failure::Failed(e.to_string()))?;
    let rotated = tokio::task::spawn_blocking(move || LocalSigner::rotate(&path))
        .await
        .map_err(|_| Failure::Failed("key rotation task failed".into()))?
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let event = AuditEvent::admin_key_rotated(&ctx.origin(), rotated.kid(), before.kid());
    ctx.record(event).await?;
    ctx.out.done(
        &format!(
            "rotated the signing key in {}: new kid {}, previous kid {} (still published)\n\
             restart `serve` to sign with the new key; the previous key stays in the JWKS until the \
             next rotation, so tokens it signed verify until they expire",
            dir.display(),
            rotated.kid(),
            before.kid()
        ),
        &json!({"kid": rotated.kid(), "previous_kid": before.kid(), "data_dir": dir.display().to_string()}),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_rotation_points_to_the_template_slot_flip() {
        let advice = kms_advice("arn:aws:kms:us-east-1:111111111111:key/abc");
        for wanted in [
            "SigningKeySlot",
            "Rotating keys",
            "deploy/README.md",
            "sam deploy",
        ] {
            assert!(advice.contains(wanted), "{wanted:?} missing from: {advice}");
        }
        // No manual procedure that would drift the stack.
        for drift in ["create-key", "update-alias", "schedule-key-deletion"] {
            assert!(!advice.contains(drift), "{drift:?} in: {advice}");
        }
    }
}
