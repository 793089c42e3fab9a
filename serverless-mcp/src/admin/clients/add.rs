//! `admin clients add`: a client the operator registers, for organisations that close open
//! registration (`SMCP_REGISTRATION=closed`) or pre-register the clients they use. The client
//! never expires; a confidential client's secret is shown once and stored as a hash.

use clap::{Args, ValueEnum};
use serde_json::json;
use shared::audit::AuditEvent;
use shared::oauth::client_id::ClientId;
use shared::oauth::client_metadata::{self, MetadataError};
use shared::secret::Secret;
use shared::store::{ClientKind, ClientRecord, ClientStatus};

use super::super::{Ctx, Failure};

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The name users see on the consent page.
    #[arg(long)]
    name: String,
    /// A redirect URI (repeatable): https, or http on loopback (any port), or a native app's
    /// reverse-domain scheme.
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// How the client authenticates at the token endpoint.
    #[arg(long, value_enum, default_value = "public")]
    auth: AuthArg,
    /// Without refresh tokens (access tokens only).
    #[arg(long)]
    no_refresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuthArg {
    /// No secret (`none`): a native, desktop or browser app using PKCE.
    Public,
    /// A secret in the Authorization header (`client_secret_basic`).
    Basic,
    /// A secret in the form (`client_secret_post`).
    Post,
}

pub async fn add(ctx: &Ctx, args: AddArgs) -> Result<(), Failure> {
    let mut grant_types = vec!["authorization_code"];
    if !args.no_refresh {
        grant_types.push("refresh_token");
    }
    let method = match args.auth {
        AuthArg::Public => "none",
        AuthArg::Basic => "client_secret_basic",
        AuthArg::Post => "client_secret_post",
    };
    // The same checks as a registration at /register (RFC 7591 §2).
    let metadata = client_metadata::validate(&json!({
        "client_name": args.name,
        "redirect_uris": args.redirect_uris,
        "token_endpoint_auth_method": method,
        "grant_types": grant_types,
        "response_types": ["code"],
    }))
    .map_err(|e| match e {
        MetadataError::RedirectUri(d) | MetadataError::Invalid(d) => {
            Failure::Failed(format!("not added: {d}"))
        }
    })?;
    let secret = metadata
        .token_endpoint_auth_method
        .is_confidential()
        .then(Secret::generate);
    let client = ClientRecord {
        client_id: ClientId::generate(),
        kind: ClientKind::Static,
        status: ClientStatus::Active,
        metadata,
        secret_hash: secret.as_ref().map(Secret::hash),
        registration_token_hash: None,
        resources: Vec::new(),
        created_at: ctx.now(),
        created_ip: None,
        created_user_agent: Some(format!(
            "serverless-mcp/{} admin",
            env!("CARGO_PKG_VERSION")
        )),
        last_used_at: None,
        revision: 0,
        expires_at: None,
    };
    if !ctx
        .stores
        .clients
        .create(&client)
        .await
        .map_err(|e| ctx.store_failure(e))?
    {
        return Err(Failure::Failed(
            "a client with the generated id exists already; run the command again".into(),
        ));
    }
    ctx.record(AuditEvent::admin_client_added(&ctx.origin(), &client))
        .await?;
    let client_id = client.client_id.as_str();
    let human = match &secret {
        Some(secret) => format!(
            "added client {client_id}\nclient_secret: {}\n(shown once; only its hash is kept)",
            secret.expose()
        ),
        None => format!("added client {client_id} (public: no secret)"),
    };
    ctx.out.done(
        &human,
        &json!({
            "client_id": client_id,
            "client_secret": secret.as_ref().map(Secret::expose),
            "token_endpoint_auth_method": method,
        }),
    );
    Ok(())
}
