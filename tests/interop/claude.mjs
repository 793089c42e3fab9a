// Claude compatibility, as Claude's connector actually behaves: its exact registration body
// (a confidential client using client_secret_post), both callback hosts (claude.ai and
// claude.com), its `scope=claudeai` on /authorize, and re-registration after `invalid_client`.
import crypto from 'node:crypto';
import { walkAuthorization } from './lib/browser.mjs';
import { register, pkce, authorizationUrl } from './lib/oauth.mjs';
import { ok, step, done, target } from './lib/tap.mjs';

const { base, username, password, mcp } = target();

const claudeBody = (callback) => ({
  redirect_uris: [callback],
  token_endpoint_auth_method: 'client_secret_post',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  client_name: 'Claude',
});
const CALLBACKS = ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'];

async function token(form) {
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => ({})) };
}

async function mcpStatus(accessToken) {
  const response = await fetch(mcp, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'claude-ai', version: '0.1.0' } },
    }),
  });
  return response.status;
}

/** Claude's authorization request and code exchange; returns the token response. */
async function claudeFlow(client, callback, { scope = 'claudeai' } = {}) {
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(16).toString('base64url');
  const url = authorizationUrl(base, {
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: callback,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    scope,
    resource: mcp,
  });
  const { url: back } = await walkAuthorization(url, { username, password, issuer: base });
  if (back.origin + back.pathname !== callback) throw new Error(`redirected to ${back.href}, not ${callback}`);
  if (back.searchParams.get('error')) throw new Error(`authorization error: ${back.href}`);
  if (back.searchParams.get('state') !== state) throw new Error(`state mismatch: ${back.href}`);
  if (back.searchParams.get('iss') !== base) throw new Error(`iss missing or wrong: ${back.href}`);
  const exchanged = await token({
    grant_type: 'authorization_code',
    code: back.searchParams.get('code'),
    redirect_uri: callback,
    code_verifier: verifier,
    client_id: client.client_id,
    client_secret: client.client_secret,
    resource: mcp,
  });
  if (exchanged.status !== 200) throw new Error(`token exchange answered ${exchanged.status}: ${JSON.stringify(exchanged.body)}`);
  return exchanged.body;
}

// --- registration: Claude's exact body, for each callback host ---
const clients = {};
for (const callback of CALLBACKS) {
  const host = new URL(callback).host;
  const { status, body } = await register(base, claudeBody(callback));
  ok(status === 201, `${host}: Claude's registration body is accepted (201)`, { status, body });
  ok(typeof body.client_id === 'string' && typeof body.client_secret === 'string', `${host}: confidential client gets client_id and client_secret`, body);
  ok(body.token_endpoint_auth_method === 'client_secret_post', `${host}: token_endpoint_auth_method stays client_secret_post`, body);
  ok(JSON.stringify(body.redirect_uris) === JSON.stringify([callback]), `${host}: redirect_uris echoed`, body.redirect_uris);
  ok(
    JSON.stringify([...(body.grant_types ?? [])].sort()) === JSON.stringify(['authorization_code', 'refresh_token']),
    `${host}: grant_types echoed`,
    body.grant_types,
  );
  ok(body.client_name === 'Claude' && 'client_secret_expires_at' in body && 'client_id_issued_at' in body, `${host}: client_name, client_id_issued_at, client_secret_expires_at present`, body);
  ok(typeof body.registration_access_token === 'string' && typeof body.registration_client_uri === 'string', `${host}: RFC 7592 registration_access_token and registration_client_uri`, body);
  clients[callback] = body;
}

// --- the flow for both callback hosts, with scope=claudeai ---
for (const callback of CALLBACKS) {
  const host = new URL(callback).host;
  const client = clients[callback];
  const tokens = await step(`${host}: authorize (scope=claudeai) → consent → login → ${host} callback with code, state, iss; code exchange with client_secret_post`, () => claudeFlow(client, callback));
  ok(tokens?.scope === 'costs:read', `${host}: unknown scope "claudeai" ignored; granted scope is costs:read`, tokens?.scope);
  ok(!!tokens?.refresh_token, `${host}: refresh token issued`);
  ok(tokens && (await mcpStatus(tokens.access_token)) === 200, `${host}: the access token opens the MCP server`);
  if (tokens?.refresh_token) {
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: client.client_id,
      client_secret: client.client_secret,
      resource: mcp,
    });
    ok(refreshed.status === 200 && refreshed.body.access_token && refreshed.body.refresh_token !== tokens.refresh_token, `${host}: refresh with client_secret_post rotates`, refreshed);
  }
}

// A scope list mixing Claude's own value with ours keeps ours.
await step('scope "claudeai costs:read" grants costs:read', async () => {
  const callback = CALLBACKS[0];
  const tokens = await claudeFlow(clients[callback], callback, { scope: 'claudeai costs:read' });
  if (tokens.scope !== 'costs:read') throw new Error(`granted ${tokens.scope}`);
});

// The token endpoint refuses the secret-less call a public client would make.
const noSecret = await token({ grant_type: 'refresh_token', refresh_token: 'x', client_id: clients[CALLBACKS[0]].client_id });
ok(noSecret.status === 401 && noSecret.body.error === 'invalid_client', 'a confidential client without its secret gets 401 invalid_client', noSecret);

// --- re-registration after invalid_client ---
// The server forgets the client (expiry of an unused client, or an admin deleting it); Claude sees
// invalid_client at the token endpoint and registers again with the same body.
const callback = CALLBACKS[0];
const old = clients[callback];
const oldTokens = await claudeFlow(old, callback).catch(() => undefined);
const deleted = await fetch(old.registration_client_uri, {
  method: 'DELETE',
  headers: { authorization: `Bearer ${old.registration_access_token}` },
});
ok(deleted.status === 204, 'the client is deleted (RFC 7592 DELETE)', deleted.status);
const stale = await token({
  grant_type: 'refresh_token',
  refresh_token: oldTokens?.refresh_token ?? 'x',
  client_id: old.client_id,
  client_secret: old.client_secret,
});
ok(stale.status === 401 && stale.body.error === 'invalid_client', 'refresh for the forgotten client answers 401 invalid_client (JSON)', stale);
ok(stale.headers.get('content-type')?.includes('application/json') && stale.headers.get('cache-control')?.includes('no-store'), 'that error is JSON with Cache-Control: no-store', Object.fromEntries(stale.headers));
const staleAuthorize = await fetch(
  authorizationUrl(base, { response_type: 'code', client_id: old.client_id, redirect_uri: callback, code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 's', scope: 'claudeai', resource: mcp }),
  { redirect: 'manual' },
);
ok(staleAuthorize.status === 400 && !staleAuthorize.headers.get('location'), '/authorize for the forgotten client shows an error page, never a redirect', { status: staleAuthorize.status, location: staleAuthorize.headers.get('location') });
const again = await register(base, claudeBody(callback));
ok(again.status === 201 && again.body.client_id !== old.client_id, 're-registration with the same body gives a new client', again);
const fresh = await step('the full flow works again with the new registration', () => claudeFlow(again.body, callback));
ok(fresh && (await mcpStatus(fresh.access_token)) === 200, 'the new access token opens the MCP server');

done('Claude compatibility');
