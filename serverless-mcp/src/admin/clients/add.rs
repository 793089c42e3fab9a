//! `admin clients add`: a client the operator registers, for organisations that close open
//! registration (`SMCP_REGISTRATION=closed`) or pre-register the clients they use. The client
//! never expires; a confidential client's secret is shown once and stored as a hash. With
//! `--resource-server <resource URL>` it adds a resource server instead: no OAuth client, but
//! the principal that may call `/introspect` (RFC 7662 §2.1) about tokens for that resource.

use clap::{Args, ValueEnum};
use serde_json::json;
use shared::audit::AuditEvent;
use shared::oauth::client_id::ClientId;
use shared::oauth::client_metadata::{self, ClientMetadata, MetadataError};
use shared::oauth::resource::ResourceUri;
use shared::oauth::scope::ScopeCatalogue;
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
    #[arg(
        long = "redirect-uri",
        required_unless_present = "resource_servers",
        conflicts_with = "resource_servers"
    )]
    redirect_uris: Vec<String>,
    /// How the client authenticates at the token endpoint [default: public; basic for a
    /// resource server, which must use a secret].
    #[arg(long, value_enum)]
    auth: Option<AuthArg>,
    /// Without refresh tokens (access tokens only).
    #[arg(long, conflicts_with = "resource_servers")]
    no_refresh: bool,
    /// Add a resource server, not a client: the URL of the resource (RFC 8707) it serves
    /// (repeatable). It can only introspect (RFC 7662) tokens issued for these resources, with
    /// its secret, and is refused wherever an OAuth client is expected.
    #[arg(long = "resource-server", value_name = "RESOURCE_URL")]
    resource_servers: Vec<String>,
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
    let resource_server = !args.resource_servers.is_empty();
    let method = match args.auth {
        None if resource_server => "client_secret_basic",
        None | Some(AuthArg::Public) if !resource_server => "none",
        None | Some(AuthArg::Public) => {
            return Err(Failure::Failed(
                "not added: a resource server authenticates with a secret: use --auth basic or \
                 --auth post"
                    .into(),
            ));
        }
        Some(AuthArg::Basic) => "client_secret_basic",
        Some(AuthArg::Post) => "client_secret_post",
    };
    let (metadata, resources) = if resource_server {
        resource_server_metadata(&args, method)?
    } else {
        (client_metadata(&args, method)?, Vec::new())
    };
    let secret = metadata
        .token_endpoint_auth_method
        .is_confidential()
        .then(Secret::generate);
    let client = ClientRecord {
        client_id: ClientId::generate(),
        kind: if resource_server {
            ClientKind::ResourceServer
        } else {
            ClientKind::Static
        },
        status: ClientStatus::Active,
        metadata,
        secret_hash: secret.as_ref().map(Secret::hash),
        registration_token_hash: None,
        resources,
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
    let what = if resource_server {
        "resource server"
    } else {
        "client"
    };
    let human = match &secret {
        Some(secret) => format!(
            "added {what} {client_id}\nclient_secret: {}\n(shown once; only its hash is kept)",
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
            "resources": client.resources,
        }),
    );
    Ok(())
}

/// An OAuth client's metadata, with the same checks as a registration at /register (RFC 7591
/// §2).
fn client_metadata(args: &AddArgs, method: &str) -> Result<ClientMetadata, Failure> {
    let mut grant_types = vec!["authorization_code"];
    if !args.no_refresh {
        grant_types.push("refresh_token");
    }
    client_metadata::validate(
        &json!({
            "client_name": args.name,
            "redirect_uris": args.redirect_uris,
            "token_endpoint_auth_method": method,
            "grant_types": grant_types,
            "response_types": ["code"],
        }),
        // No `scope` is registered, so which scopes the deployment offers does not matter.
        &ScopeCatalogue::default(),
    )
    .map_err(refused)
}

/// A resource server's record: its name (checked as a client name is), its authentication
/// method, no redirect URI or grant type (it takes part in no authorization), and its resource
/// URLs, each an absolute http(s) URI without a fragment (RFC 8707 §2).
fn resource_server_metadata(
    args: &AddArgs,
    method: &str,
) -> Result<(ClientMetadata, Vec<ResourceUri>), Failure> {
    let named = client_metadata::validate(
        &json!({
            "client_name": args.name,
            "redirect_uris": ["https://resource-server.invalid/"],
            "token_endpoint_auth_method": method,
        }),
        &ScopeCatalogue::default(),
    )
    .map_err(refused)?;
    let metadata = ClientMetadata {
        client_name: named.client_name,
        token_endpoint_auth_method: named.token_endpoint_auth_method,
        ..ClientMetadata::default()
    };
    let mut resources = Vec::new();
    for raw in &args.resource_servers {
        let resource = ResourceUri::parse(raw)
            .ok()
            .filter(|_| raw.starts_with("https://") || raw.starts_with("http://"))
            .ok_or_else(|| {
                Failure::Failed(format!(
                    "not added: --resource-server {raw:?} is not an absolute http(s) URL without \
                     a fragment"
                ))
            })?;
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    Ok((metadata, resources))
}

fn refused(error: MetadataError) -> Failure {
    match error {
        MetadataError::RedirectUri(d) | MetadataError::Invalid(d) => {
            Failure::Failed(format!("not added: {d}"))
        }
    }
}
