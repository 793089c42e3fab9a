//! Names of the settings (environment variables); the README's settings table lists them.

pub const ISSUER: &str = "SMCP_ISSUER";
pub const RESOURCE: &str = "SMCP_RESOURCE";
pub const STORE: &str = "SMCP_STORE";
pub const TABLE: &str = "SMCP_TABLE";
pub const DATA_DIR: &str = "SMCP_DATA_DIR";
pub const LOG_FORMAT: &str = "SMCP_LOG_FORMAT";
/// `tracing` filter directives, e.g. `info,authz=debug`.
pub const LOG_FILTER: &str = "RUST_LOG";
pub const ACCESS_TOKEN_TTL: &str = "SMCP_ACCESS_TOKEN_TTL";
pub const REFRESH_TOKEN_TTL: &str = "SMCP_REFRESH_TOKEN_TTL";
pub const SIGNING_KEY: &str = "SMCP_SIGNING_KEY";
/// With a KMS signing key: `kms:<key id>[,kms:<key id>…]`, keys that signed before a switch
/// and are still published in the JWKS (verification only) until their tokens expire.
pub const SIGNING_KEY_PREVIOUS: &str = "SMCP_SIGNING_KEY_PREVIOUS";
pub const REGISTER_RATE_LIMIT: &str = "SMCP_REGISTER_RATE_LIMIT";
pub const REGISTER_RATE_EXEMPT: &str = "SMCP_REGISTER_RATE_EXEMPT";
/// `GET /authorize` requests (each may store a pending request) per source and window.
pub const AUTHORIZE_RATE_LIMIT: &str = "SMCP_AUTHORIZE_RATE_LIMIT";
pub const CLIENT_IDLE_DAYS: &str = "SMCP_CLIENT_IDLE_DAYS";
/// Upstream login: `embedded` (default; built-in login page) or `cognito`.
pub const LOGIN: &str = "SMCP_LOGIN";
pub const COGNITO_REGION: &str = "SMCP_COGNITO_REGION";
pub const COGNITO_USER_POOL_ID: &str = "SMCP_COGNITO_USER_POOL_ID";
/// The managed-login domain, e.g. `https://auth.example.com` or
/// `https://<prefix>.auth.<region>.amazoncognito.com`.
pub const COGNITO_DOMAIN: &str = "SMCP_COGNITO_DOMAIN";
pub const COGNITO_CLIENT_ID: &str = "SMCP_COGNITO_CLIENT_ID";
pub const COGNITO_CLIENT_SECRET: &str = "SMCP_COGNITO_CLIENT_SECRET";
/// OIDC discovery document [default: the user pool's, derived from region and pool id].
pub const COGNITO_DISCOVERY_URL: &str = "SMCP_COGNITO_DISCOVERY_URL";
/// Key for signing consent and CSRF cookies: 32+ bytes, base64url. Default: a key file in
/// the data dir (created on first start), else a per-process key.
pub const COOKIE_KEY: &str = "SMCP_COOKIE_KEY";
/// Seconds during which the refresh token just replaced is answered without revoking.
pub const REFRESH_GRACE: &str = "SMCP_REFRESH_GRACE";
/// Secret the CloudFront distribution adds to every origin request (`x-smcp-origin-secret`);
/// when set, requests without it are refused and the edge's host/address headers trusted.
pub const ORIGIN_SECRET: &str = "SMCP_ORIGIN_SECRET";
/// For local testing only, honoured only by `serverless-mcp serve` (the Lambda refuses to
/// start with it): a PEM CA file whose certificates are trusted when fetching Client ID
/// Metadata Documents, which may then also be fetched from loopback addresses.
pub const CIMD_TEST_CA: &str = "SMCP_CIMD_TEST_CA";
/// Local testing only, with [`CIMD_TEST_CA`]: `host=127.0.0.1:port` pairs (comma-separated)
/// that Client ID Metadata Document fetches resolve to instead of the DNS answer, so a test can
/// serve a document for a real client's URL (e.g. `claude.ai`) from loopback.
pub const CIMD_TEST_RESOLVE: &str = "SMCP_CIMD_TEST_RESOLVE";
/// `open` (default) or `closed`: whether anyone may register a client at `/register`.
pub const REGISTRATION: &str = "SMCP_REGISTRATION";
/// With open registration: the hosts every redirect URI of a new client must be on.
pub const REGISTRATION_REDIRECT_HOSTS: &str = "SMCP_REGISTRATION_REDIRECT_HOSTS";
/// The hosts Client ID Metadata Documents may come from: unset (any), a list, or `none`.
pub const CIMD_HOSTS: &str = "SMCP_CIMD_HOSTS";
/// CloudWatch namespace of the metrics the Lambda functions emit (default `ServerlessMcp`;
/// the template sets one per stack).
pub const METRICS_NAMESPACE: &str = "SMCP_METRICS_NAMESPACE";
/// The scopes offered, separated by spaces or commas, the baseline (granted when a request names
/// none) first; default `costs:read costs:resources`.
pub const SCOPES: &str = "SMCP_SCOPES";
/// The consent page's words for the scopes: `scope=description` entries separated by `;`.
pub const SCOPE_DESCRIPTIONS: &str = "SMCP_SCOPE_DESCRIPTIONS";
/// Set by the Lambda runtime; selects JSON logs by default.
pub const LAMBDA_FUNCTION: &str = "AWS_LAMBDA_FUNCTION_NAME";
