//! `admin keys rotate`: a new local signing key, the old one kept published (as the previous
//! key) so tokens it signed verify until they expire; for a KMS key, the keys published now and
//! how to switch with `SMCP_SIGNING_KEY_PREVIOUS` keeping the old key published.

use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use serde_json::{Map, Value, json};
use shared::config::SigningKeyConfig;
use shared::token::{LocalSigner, Signer as _};

use super::{Ctx, Failure};

/// The signing key files in the data dir (`shared::token::signer::local`).
const CURRENT_KEY_FILE: &str = "signing-key.pem";
const PREVIOUS_KEY_FILE: &str = "previous-signing-key.pem";
/// Tokens live at most an hour: a previous key younger than this may still verify live tokens.
const PREVIOUS_KEY_NEEDED: Duration = Duration::from_secs(3600 + 120);

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new signing key current; the old one stays published until the next rotation.
    Rotate {
        /// Rotate even if the previous key may still be needed (tokens it signed then fail).
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(ctx: &Ctx, command: KeysCommand) -> Result<(), Failure> {
    let KeysCommand::Rotate { force } = command;
    match &ctx.config.signing_key {
        SigningKeyConfig::Kms { key_id, previous } => {
            // Loads the keys as the authorization server does, so an unreadable previous key
            // shows here before a token fails.
            let signer = authz::signer(&ctx.config)
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
        "The signing key is the KMS key {key_id}; KMS keys are not rotated by this command.\n\
         To switch to a new key:\n\
         1. aws kms create-key --key-spec RSA_2048 --key-usage SIGN_VERIFY --description serverless-mcp-signing\n\
         2. grant the authz function kms:Sign and kms:GetPublicKey on the new key (keep\n   \
            kms:GetPublicKey on the old one)\n\
         3. on the authz function set SMCP_SIGNING_KEY=kms:<new key id> (or move the alias:\n   \
            aws kms update-alias --alias-name alias/<name> --target-key-id <new key id>) and\n   \
            SMCP_SIGNING_KEY_PREVIOUS=kms:<old key id> (the old key's id, not an alias that moved),\n   \
            and redeploy: new tokens are signed by the new key, and the JWKS also publishes the\n   \
            old key, so tokens it signed keep verifying until they expire\n\
         4. after the longest access token lifetime (an hour) plus a few minutes for the MCP\n   \
            server's JWKS cache, remove SMCP_SIGNING_KEY_PREVIOUS and redeploy\n\
         5. then schedule the old key's deletion: aws kms schedule-key-deletion --key-id <old key id>"
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
    let mut detail = Map::new();
    detail.insert("kid".into(), Value::from(rotated.kid()));
    detail.insert("previous_kid".into(), Value::from(before.kid()));
    ctx.record("admin.key.rotated", None, None, detail).await?;
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
