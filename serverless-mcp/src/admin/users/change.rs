//! Changing and removing embedded-login users: password, groups, disable and enable, delete.
//! Each change is audited; disabling and deleting ask first (see [`Danger`]).

use serde_json::json;
use shared::audit::AuditEvent;
use shared::store::{LoginUser, Revoked};

use super::{get, groups_cell, not_found};
use crate::admin::consents;
use crate::admin::grants::{self, Owner, revoke_access_tokens};
use crate::admin::prompt::{self, Danger};
use crate::admin::{Ctx, Failure};

/// Stores `user` as changed; exit 3 if it was deleted meanwhile.
async fn update(ctx: &Ctx, user: &LoginUser) -> Result<(), Failure> {
    let stored = ctx
        .stores
        .login_users
        .update(user)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    if stored {
        Ok(())
    } else {
        Err(not_found(&user.username))
    }
}

/// `users passwd`: a new password, hashed as at `users add`.
pub async fn passwd(ctx: &Ctx, name: &str) -> Result<(), Failure> {
    let user = get(ctx, name).await?;
    let password = prompt::new_password(name)?;
    authz::upstream::local::check_password(&password)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let password_hash =
        tokio::task::spawn_blocking(move || authz::upstream::local::hash_password(&password))
            .await
            .map_err(|_| Failure::Failed("the password hashing task failed".into()))?
            .map_err(|e| Failure::Failed(e.to_owned()))?;
    let user = LoginUser {
        password_hash,
        ..user
    };
    update(ctx, &user).await?;
    ctx.record(AuditEvent::admin_user_password_changed(
        &ctx.origin(),
        &user.sub,
    ))
    .await?;
    ctx.out.done(
        &format!("set the password of user {name}"),
        &json!({"username": name, "password_changed": true}),
    );
    Ok(())
}

/// `users groups`: shows the groups, or (with `wanted`) replaces them.
pub async fn groups(ctx: &Ctx, name: &str, wanted: Option<Vec<String>>) -> Result<(), Failure> {
    let user = get(ctx, name).await?;
    let Some(mut wanted) = wanted else {
        ctx.out.done(
            &format!("user {name}: groups {}", groups_cell(&user.groups)),
            &json!({"username": name, "groups": user.groups}),
        );
        return Ok(());
    };
    wanted.dedup();
    if let Some(bad) = wanted.iter().find(|g| g.trim().is_empty()) {
        return Err(Failure::Usage(format!("{bad:?} is not a group name")));
    }
    let previous = user.groups.clone();
    let user = LoginUser {
        groups: wanted,
        ..user
    };
    update(ctx, &user).await?;
    let event =
        AuditEvent::admin_user_groups_changed(&ctx.origin(), &user.sub, &previous, &user.groups);
    ctx.record(event).await?;
    ctx.out.done(
        &format!(
            "user {name}: groups {} (were {}); effective at their next login or token refresh",
            groups_cell(&user.groups),
            groups_cell(&previous)
        ),
        &json!({"username": name, "groups": user.groups, "previous_groups": previous}),
    );
    Ok(())
}

/// `users disable`: refuses logins and refreshes, revokes grants and access tokens.
pub async fn disable(ctx: &Ctx, name: &str, danger: Danger) -> Result<(), Failure> {
    let user = get(ctx, name).await?;
    let active = grants::active(ctx, Owner::User(&user.sub)).await?;
    let action = format!(
        "disable user {name} and revoke their {} active grant(s)",
        active.len()
    );
    if danger.dry_run {
        grants::dry_run(ctx, &action, &active).await;
        return Ok(());
    }
    danger.confirm(&action)?;
    let user = LoginUser {
        enabled: false,
        ..user
    };
    update(ctx, &user).await?;
    let revoked = revoke_grants(ctx, &user.sub).await?;
    let event = AuditEvent::admin_user_disabled(&ctx.origin(), &user.sub, revoked.len());
    ctx.record(event).await?;
    ctx.out.done(
        &format!(
            "disabled user {name}: {} grant(s) revoked, their access tokens are refused",
            revoked.len()
        ),
        &json!({"disabled": name, "grants_revoked": revoked, "access_tokens_revoked": true}),
    );
    Ok(())
}

/// `users enable`: lets a disabled user log in again.
pub async fn enable(ctx: &Ctx, name: &str) -> Result<(), Failure> {
    let user = LoginUser {
        enabled: true,
        ..get(ctx, name).await?
    };
    update(ctx, &user).await?;
    ctx.record(AuditEvent::admin_user_enabled(&ctx.origin(), &user.sub))
        .await?;
    ctx.out
        .done(&format!("enabled user {name}"), &json!({"enabled": name}));
    Ok(())
}

/// `users delete`: revokes grants and access tokens, forgets consents, deletes the login.
pub async fn delete(ctx: &Ctx, name: &str, danger: Danger) -> Result<(), Failure> {
    let user = get(ctx, name).await?;
    let active = grants::active(ctx, Owner::User(&user.sub)).await?;
    let remembered = consents::of_user(ctx, &user.sub).await?;
    let action = format!(
        "delete user {name}, revoke their {} active grant(s) and forget their {} consent(s)",
        active.len(),
        remembered.len()
    );
    if danger.dry_run {
        grants::dry_run(ctx, &action, &active).await;
        consents::show(ctx, &remembered);
        return Ok(());
    }
    danger.confirm(&action)?;
    // Refuse the login first, so no new grant appears while the rest is revoked.
    update(
        ctx,
        &LoginUser {
            enabled: false,
            ..user.clone()
        },
    )
    .await?;
    let revoked = revoke_grants(ctx, &user.sub).await?;
    let forgotten = consents::forget(ctx, &remembered).await?;
    ctx.stores
        .login_users
        .delete(&user.username)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    let event = AuditEvent::admin_user_deleted(&ctx.origin(), &user.sub, revoked.len(), forgotten);
    ctx.record(event).await?;
    ctx.out.done(
        &format!(
            "deleted user {name}: {} grant(s) revoked, {forgotten} consent(s) forgotten, their \
             access tokens are refused",
            revoked.len()
        ),
        &json!({
            "deleted": name,
            "grants_revoked": revoked,
            "consents_revoked": forgotten,
            "access_tokens_revoked": true,
        }),
    );
    Ok(())
}

/// Revokes every access token issued to the user until now and every grant; the grant ids.
async fn revoke_grants(ctx: &Ctx, sub: &str) -> Result<Vec<String>, Failure> {
    revoke_access_tokens(ctx, Revoked::User(sub)).await?;
    let revoked = ctx
        .stores
        .grants
        .revoke_all_for_user(sub)
        .await
        .map_err(|e| ctx.store_failure(e))?;
    Ok(revoked.into_iter().map(|g| g.grant_id).collect())
}
