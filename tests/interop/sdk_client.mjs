// The official TypeScript SDK as an MCP client of `serverless-mcp serve`, with its OAuth client
// support driven headlessly: discovery from the 401 challenge, protected-resource and
// authorization-server metadata, dynamic registration, PKCE, `resource`, token; tools/list and
// tools/call; the MCP App declarations (_meta.ui on the series tools, resources/list and
// resources/read of the ui:// view); a refresh; revocation and the 401 that follows. TAP output.
import crypto from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { walkAuthorization } from './lib/browser.mjs';
import { ok, step, done, target } from './lib/tap.mjs';

const { base, username, password, mcp } = target();

/** Every HTTP exchange the SDK makes, in order. */
const exchanges = [];
const recordingFetch = async (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input);
  const method = init.method ?? (input instanceof Request ? input.method : 'GET');
  const body = typeof init.body === 'string' ? init.body : init.body instanceof URLSearchParams ? init.body.toString() : undefined;
  const response = await fetch(input, init);
  exchanges.push({ method, url, status: response.status, body, headers: response.headers });
  return response;
};

class HeadlessProvider {
  constructor() {
    this.redirect = 'http://127.0.0.1:53682/callback';
    this.info = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.sentState = undefined;
    this.authorizationUrls = [];
    this.code = undefined;
    this.callbackUrl = undefined;
  }
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata() {
    return {
      client_name: 'interop TypeScript SDK client',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    this.sentState = crypto.randomBytes(16).toString('base64url');
    return this.sentState;
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url) {
    this.authorizationUrls.push(new URL(url));
    const { url: callback } = await walkAuthorization(url, { username, password, issuer: base });
    this.callbackUrl = callback;
    this.code = callback.searchParams.get('code');
  }
}

const provider = new HeadlessProvider();
const newTransport = () =>
  new StreamableHTTPClientTransport(new URL(mcp), { authProvider: provider, fetch: recordingFetch });
const newClient = () => new Client({ name: 'interop-ts-sdk', version: '1.0.0' });

// --- 1. the first connection is challenged; the SDK discovers, registers and redirects ---
let transport = newTransport();
let client = newClient();
let firstError;
try {
  await client.connect(transport);
} catch (error) {
  firstError = error;
}
ok(firstError instanceof UnauthorizedError, 'first connect without a token ends in UnauthorizedError (auth redirect)', String(firstError));

const first = exchanges.find((e) => e.url === mcp && e.method === 'POST');
const challenge = first?.headers.get('www-authenticate') ?? '';
ok(first?.status === 401, 'POST /mcp without a token answers 401', first && { status: first.status });
ok(/resource_metadata="[^"]+"/.test(challenge), 'WWW-Authenticate carries resource_metadata', challenge);
const prmUrl = challenge.match(/resource_metadata="([^"]+)"/)?.[1];
ok(exchanges.some((e) => e.method === 'GET' && e.url === prmUrl && e.status === 200), 'SDK fetched the protected-resource metadata named by the challenge', exchanges.map((e) => `${e.method} ${e.url} ${e.status}`));
ok(
  exchanges.some((e) => e.method === 'GET' && /\/\.well-known\/(oauth-authorization-server|openid-configuration)/.test(e.url) && e.status === 200),
  'SDK fetched the authorization-server metadata',
  exchanges.map((e) => `${e.method} ${e.url} ${e.status}`),
);
const registration = exchanges.find((e) => e.method === 'POST' && e.url === `${base}/register`);
ok(registration?.status === 201, 'dynamic client registration answered 201', registration && { status: registration.status });
ok(typeof provider.info?.client_id === 'string', 'SDK saved the registered client_id', provider.info);

const authUrl = provider.authorizationUrls[0];
ok(authUrl?.href.startsWith(`${base}/authorize?`), 'authorization URL is our /authorize', authUrl?.href);
ok(authUrl?.searchParams.get('code_challenge_method') === 'S256' && (authUrl?.searchParams.get('code_challenge') ?? '').length >= 43, 'PKCE S256 challenge sent', authUrl?.href);
ok(authUrl?.searchParams.get('resource') === mcp, 'resource parameter names the MCP server', authUrl?.searchParams.get('resource'));
ok(typeof provider.code === 'string' && provider.code.length > 20, 'headless consent + login returned an authorization code', provider.callbackUrl?.href);
ok(provider.callbackUrl?.searchParams.get('state') === provider.sentState, 'state comes back unchanged');
ok(provider.callbackUrl?.searchParams.get('iss') === base, 'iss parameter equals the issuer (RFC 9207)', provider.callbackUrl?.href);

// --- 2. finish the flow: token exchange ---
await step('transport.finishAuth(code) exchanges the code for tokens', () => transport.finishAuth(provider.code));
const tokenCall = exchanges.find((e) => e.method === 'POST' && e.url === `${base}/token`);
const tokenForm = new URLSearchParams(tokenCall?.body ?? '');
ok(tokenCall?.status === 200, 'POST /token answered 200', tokenCall && { status: tokenCall.status });
ok(tokenForm.get('grant_type') === 'authorization_code' && !!tokenForm.get('code_verifier'), 'token request carries the PKCE verifier', tokenCall?.body);
ok(tokenForm.get('resource') === mcp, 'token request carries resource', tokenCall?.body);
ok(tokenCall?.headers.get('cache-control')?.includes('no-store'), 'token response is Cache-Control: no-store');
const firstTokens = provider.saved;
ok(!!firstTokens?.access_token && !!firstTokens?.refresh_token, 'access and refresh tokens saved', firstTokens && Object.keys(firstTokens));
ok(firstTokens?.token_type?.toLowerCase() === 'bearer' && firstTokens?.scope === 'costs:read', 'token_type Bearer, scope costs:read', firstTokens && { token_type: firstTokens.token_type, scope: firstTokens.scope });
const claims = firstTokens ? JSON.parse(Buffer.from(firstTokens.access_token.split('.')[1], 'base64url')) : {};
const header = firstTokens ? JSON.parse(Buffer.from(firstTokens.access_token.split('.')[0], 'base64url')) : {};
ok(header.typ === 'at+jwt' && header.alg === 'RS256', 'access token is an RFC 9068 JWT (typ at+jwt, RS256)', header);
ok(claims.aud === mcp && claims.iss === base && claims.client_id === provider.info?.client_id, 'access token aud/iss/client_id', claims);

// --- 3. the MCP session with the token ---
transport = newTransport();
client = newClient();
await step('connect (initialize) with the access token', () => client.connect(transport));
const tools = await step('tools/list', () => client.listTools());
const names = (tools?.tools ?? []).map((t) => t.name);
ok(names.length >= 10, `tools/list returns the Cost Explorer tools (${names.length})`, names);
for (const want of ['get_today_date', 'get_cost_and_usage', 'get_dimension_values', 'get_cost_forecast']) {
  ok(names.includes(want), `tools/list includes ${want}`);
}
ok((tools?.tools ?? []).every((t) => t.annotations?.readOnlyHint === true), 'every tool is annotated readOnlyHint: true');

// The MCP App (SEP-1865): the series tools name the view in _meta.ui.resourceUri (and the flat
// legacy key the official ext-apps registerAppTool also writes); the others carry no _meta.
const VIEW_URI = 'ui://aws-costs/cost-view.html';
const VIEW_TOOLS = ['get_cost_and_usage', 'get_cost_forecast', 'get_usage_forecast'];
for (const tool of tools?.tools ?? []) {
  if (VIEW_TOOLS.includes(tool.name)) {
    ok(
      tool._meta?.ui?.resourceUri === VIEW_URI && tool._meta?.['ui/resourceUri'] === VIEW_URI && tool._meta.ui.visibility === undefined,
      `${tool.name} declares the view (_meta.ui.resourceUri, default visibility)`,
      tool._meta,
    );
  } else {
    ok(tool._meta === undefined, `${tool.name} declares no view`, tool._meta);
  }
}
ok(client.getServerCapabilities()?.resources !== undefined, 'the server declares the resources capability', client.getServerCapabilities());
const listed = await step('resources/list', () => client.listResources());
const entry = (listed?.resources ?? []).find((r) => r.uri === VIEW_URI);
ok(entry?.mimeType === 'text/html;profile=mcp-app', 'resources/list lists the view as text/html;profile=mcp-app', listed);
const read = await step('resources/read of the view', () => client.readResource({ uri: VIEW_URI }));
const view = read?.contents?.[0];
ok(view?.uri === VIEW_URI && view?.mimeType === 'text/html;profile=mcp-app', 'resources/read returns the view with the MCP App MIME type', view && { uri: view.uri, mimeType: view.mimeType });
ok(typeof view?.text === 'string' && /^<!doctype html>/i.test(view.text) && view.text.includes("'ui/initialize'"), 'the view is an HTML document speaking the MCP Apps protocol', view?.text?.slice(0, 200));
ok(
  isDeepStrictEqual(view?._meta?.ui?.csp, { connectDomains: [], resourceDomains: [], frameDomains: [], baseUriDomains: [] }),
  'the view declares _meta.ui.csp with no origins (no network)',
  view?._meta,
);
const unknown = await client.readResource({ uri: 'ui://aws-costs/none.html' }).then(() => 'answered', (error) => error);
ok(unknown instanceof Error && /not found/i.test(unknown.message), 'resources/read of an unknown URI is an error', String(unknown));

async function callTool(name, args) {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} answered a tool error: ${JSON.stringify(result.content)}`);
  if (!result.structuredContent || typeof result.structuredContent !== 'object') {
    throw new Error(`${name} has no structuredContent: ${JSON.stringify(result).slice(0, 500)}`);
  }
  return result.structuredContent;
}

const today = await step('tools/call get_today_date (structuredContent)', () => callTool('get_today_date', {}));
const todayText = JSON.stringify(today ?? {});
ok(/\d{4}-\d{2}-\d{2}/.test(todayText), 'get_today_date returns an ISO date', today);
const todayDate = todayText.match(/\d{4}-\d{2}-\d{2}/)?.[0] ?? new Date().toISOString().slice(0, 10);
const monthStart = `${todayDate.slice(0, 7)}-01`;
const prior = new Date(`${monthStart}T00:00:00Z`);
prior.setUTCMonth(prior.getUTCMonth() - 2);
const start = prior.toISOString().slice(0, 10);

const usage = await step('tools/call get_cost_and_usage grouped by SERVICE (structuredContent)', () =>
  callTool('get_cost_and_usage', {
    start_date: start,
    end_date: todayDate,
    granularity: 'MONTHLY',
    metrics: ['UnblendedCost'],
    group_by: [{ dimension: 'SERVICE' }],
  }),
);
ok(usage && JSON.stringify(usage).length > 50, 'get_cost_and_usage returns sample cost data', usage);

const dims = await step('tools/call get_dimension_values SERVICE (structuredContent)', () =>
  callTool('get_dimension_values', { start_date: start, end_date: todayDate, dimension: 'SERVICE' }),
);
ok(dims && JSON.stringify(dims).length > 20, 'get_dimension_values returns values', dims);

const invalid = await step('tools/call with an invalid date answers a tool error naming the field', async () => {
  const result = await client.callTool({ name: 'get_cost_and_usage', arguments: { start_date: 'yesterday', end_date: todayDate, granularity: 'MONTHLY' } });
  if (!result.isError) throw new Error(`expected isError: ${JSON.stringify(result).slice(0, 300)}`);
  return result;
});
ok(invalid && /start_date/.test(JSON.stringify(invalid.content)), 'the tool error names start_date', invalid?.content);
await client.close();

// --- 4. refresh through the SDK (auth() with a stored refresh token refreshes) ---
const before = provider.saved;
const refreshed = await step('auth() with a refresh token refreshes', () => auth(provider, { serverUrl: mcp, fetchFn: recordingFetch }));
ok(refreshed === 'AUTHORIZED', 'auth() answered AUTHORIZED without a new redirect', refreshed);
const refreshCall = exchanges.filter((e) => e.method === 'POST' && e.url === `${base}/token`).at(-1);
ok(new URLSearchParams(refreshCall?.body ?? '').get('grant_type') === 'refresh_token' && refreshCall?.status === 200, 'refresh_token grant answered 200', refreshCall && { body: refreshCall.body, status: refreshCall.status });
ok(provider.saved?.access_token && provider.saved.access_token !== before?.access_token, 'refresh produced a new access token');
ok(provider.saved?.refresh_token && provider.saved.refresh_token !== before?.refresh_token, 'refresh rotated the refresh token');
ok(provider.authorizationUrls.length === 1, 'no second browser redirect was needed');

transport = newTransport();
client = newClient();
await step('connect with the refreshed access token', () => client.connect(transport));
const again = await step('tools/list with the refreshed access token', () => client.listTools());
ok((again?.tools ?? []).length === names.length, 'same tools with the refreshed token');
await client.close();

// --- 5. revocation of the access token, then the 401 ---
const access = provider.saved?.access_token;
const revoke = await fetch(`${base}/revoke`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ token: access ?? '', token_type_hint: 'access_token', client_id: provider.info?.client_id ?? '' }),
});
ok(revoke.status === 200, 'POST /revoke of the access token answers 200', revoke.status);
const afterRevoke = await fetch(mcp, {
  method: 'POST',
  headers: {
    authorization: `Bearer ${access}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
});
const revokedChallenge = afterRevoke.headers.get('www-authenticate') ?? '';
ok(afterRevoke.status === 401, 'a revoked access token is refused with 401', afterRevoke.status);
ok(/error="invalid_token"/.test(revokedChallenge) && /resource_metadata=/.test(revokedChallenge), 'the 401 says error="invalid_token" with resource_metadata', revokedChallenge);

// The SDK, holding a revoked token, goes back to its provider (refresh): it must recover.
transport = newTransport();
client = newClient();
let recovered;
try {
  await client.connect(transport);
  recovered = 'connected';
} catch (error) {
  recovered = error;
}
ok(recovered === 'connected' || recovered instanceof UnauthorizedError, 'the SDK handles the 401 after revocation (refresh or re-authorize)', String(recovered));
await client.close().catch(() => {});

// Revoking the refresh token ends the grant: refreshing with it fails.
const rt = provider.saved?.refresh_token;
const revokeRt = await fetch(`${base}/revoke`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ token: rt ?? '', token_type_hint: 'refresh_token', client_id: provider.info?.client_id ?? '' }),
});
ok(revokeRt.status === 200, 'POST /revoke of the refresh token answers 200', revokeRt.status);
const refreshAfter = await fetch(`${base}/token`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt ?? '', client_id: provider.info?.client_id ?? '' }),
});
const refreshAfterBody = await refreshAfter.json().catch(() => ({}));
ok(refreshAfter.status === 400 && refreshAfterBody.error === 'invalid_grant', 'refresh with a revoked refresh token answers invalid_grant', { status: refreshAfter.status, body: refreshAfterBody });

done('TypeScript SDK client');
