// Obtains tokens from our authorization server the way any client would, without an SDK:
// register (RFC 7591), authorize with PKCE through the headless browser, exchange the code.
import crypto from 'node:crypto';
import { walkAuthorization } from './browser.mjs';

export async function register(base, metadata) {
  const response = await fetch(`${base}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

export function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function authorizationUrl(base, params) {
  const url = new URL(`${base}/authorize`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/**
 * Registers a public client (unless `client` is given) and runs the whole code flow, for the
 * resource `resource` (default: the MCP server of `serve`, `${base}/mcp`).
 */
export async function obtainTokens({ base, username, password, redirectUri = 'http://127.0.0.1:53684/callback', client, scope, resource = `${base}/mcp` }) {
  const registered = client ?? (await register(base, {
    client_name: 'interop token helper',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  })).body;
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(12).toString('base64url');
  const url = authorizationUrl(base, {
    response_type: 'code',
    client_id: registered.client_id,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    resource,
    scope,
  });
  const { url: callback } = await walkAuthorization(url, { username, password, issuer: base });
  if (callback.searchParams.get('state') !== state) throw new Error(`state mismatch: ${callback}`);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code: ${callback}`);
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
    client_id: registered.client_id,
    resource,
  });
  if (registered.client_secret) form.set('client_secret', registered.client_secret);
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const tokens = await response.json();
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(tokens)}`);
  return { client: registered, tokens, callback };
}
