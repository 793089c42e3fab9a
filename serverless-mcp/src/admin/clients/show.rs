//! `admin clients show`: one client's metadata, registration, last use, active grants and
//! latest audit events; and how a client is written in listings.

use serde_json::{Value, json};
use shared::store::{AuditQuery, ClientKind, ClientRecord, ClientStatus};

use crate::admin::grants::{self, Owner};
use crate::admin::{Ctx, Failure, audit, when};

/// Recent audit events shown by `clients show`.
const RECENT_EVENTS: usize = 10;

/// Shows one client.
pub async fn run(ctx: &Ctx, client_id: &str) -> Result<(), Failure> {
    let client = super::get(ctx, client_id).await?;
    let active = grants::active(ctx, Owner::Client(client_id)).await?;
    let query = AuditQuery {
        client_id: Some(client_id.to_owned()),
        ..AuditQuery::default()
    };
    let events = audit::recent(ctx, &query, RECENT_EVENTS).await?;
    if !ctx.out.is_table() {
        let grants: Vec<Value> = active.iter().map(grants::listed).collect();
        ctx.out.json_line(&json!({
            "client": listed(&client),
            "active_grants": grants,
            "recent_events": events,
        }));
        return Ok(());
    }
    let m = &client.metadata;
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let fields = [
        ("client_id", client.client_id.to_string()),
        ("name", or_dash(&m.client_name)),
        ("kind", kind(client.kind).to_owned()),
        ("status", status(client.status).to_owned()),
        ("registered", when::time(client.created_at)),
        ("from", or_dash(&client.created_ip)),
        ("user agent", or_dash(&client.created_user_agent)),
        ("last used", when::time_opt(client.last_used_at, "never")),
        ("expires", when::time_opt(client.expires_at, "never")),
        (
            "redirect uris",
            m.redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            "auth method",
            m.token_endpoint_auth_method.as_str().to_owned(),
        ),
        (
            "grant types",
            m.grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("scope", or_dash(&m.scope)),
        ("client uri", or_dash(&m.client_uri)),
        (
            "software",
            match (&m.software_id, &m.software_version) {
                (None, None) => "-".into(),
                (id, version) => format!(
                    "{} {}",
                    id.as_deref().unwrap_or("-"),
                    version.as_deref().unwrap_or("")
                )
                .trim_end()
                .to_owned(),
            },
        ),
    ];
    ctx.out.fields(&fields);
    println!();
    println!("active grants: {}", active.len());
    if !active.is_empty() {
        let names = grants::names(ctx, &active).await;
        ctx.out
            .table(grants::HEADERS, &grants::rows(&active, &names));
    }
    println!();
    println!("recent audit events (newest first): {}", events.len());
    if !events.is_empty() {
        ctx.out.table(
            &["TIME", "TYPE", "USER", "SOURCE", "DETAIL"],
            &audit::rows(&events, false),
        );
    }
    Ok(())
}

/// A client without its secret and registration-token hashes.
pub fn listed(client: &ClientRecord) -> Value {
    json!({
        "client_id": client.client_id,
        "kind": kind(client.kind),
        "status": status(client.status),
        "client_name": client.metadata.client_name,
        "metadata": client.metadata,
        "created_at": client.created_at,
        "created_ip": client.created_ip,
        "created_user_agent": client.created_user_agent,
        "last_used_at": client.last_used_at,
        "expires_at": client.expires_at,
        "confidential": client.secret_hash.is_some(),
        "resources": client.resources,
    })
}

/// The kind as operators type it (`--kind`).
pub fn kind(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Dcr => "dcr",
        ClientKind::Cimd => "cimd",
        ClientKind::Static => "static",
        ClientKind::ResourceServer => "resource-server",
    }
}

/// The status as operators type it (`--status`).
pub fn status(status: ClientStatus) -> &'static str {
    match status {
        ClientStatus::Active => "active",
        ClientStatus::Disabled => "disabled",
        ClientStatus::Revoked => "revoked",
    }
}
