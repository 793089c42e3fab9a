// Our authorization server in front of an MCP server we did not write (ts_server.mjs: the
// TypeScript SDK's own server, checking our tokens with `jose` and our /introspect): the
// TypeScript SDK client discovers the authorization server from that server's 401 and metadata,
// registers with us, signs in through our consent and login pages, gets a token whose `aud` is the
// foreign server's URL, and calls its tools. Then revocation at our /revoke reaches the foreign
// server at once (introspection says active:false, the client gets 401), and tokens signed by
// another key, expired, or for another resource are refused there. TAP output.
//
// Environment: SMCP_BASE (the authorization server run with `serve --no-mcp --resource
// <FOREIGN_MCP>`), SMCP_USER, SMCP_PASSWORD, FOREIGN_MCP (the TypeScript server's resource URL),
// FOREIGN_RS_ID and FOREIGN_RS_SECRET (its resource-server credentials), FOREIGN_SIGNING_KEY (the
// authorization server's PEM key, to mint an expired token as it would).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { SignJWT, generateKeyPair } from 'jose';
import { walkAuthorization } from './lib/browser.mjs';
import { ok, step, done, target } from './lib/tap.mjs';

const { base, username, password } = target();
const mcp = process.env.FOREIGN_MCP;
const rsId = process.env.FOREIGN_RS_ID;
const rsSecret = process.env.FOREIGN_RS_SECRET;
const keyPath = process.env.FOREIGN_SIGNING_KEY;
if (!mcp || !rsId || !rsSecret || !keyPath) {
  console.error('FOREIGN_MCP, FOREIGN_RS_ID, FOREIGN_RS_SECRET and FOREIGN_SIGNING_KEY must be set (tests/run.sh sets them)');
  process.exit(2);
}

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
    this.redirect = 'http://127.0.0.1:53685/callback';
    this.authorizationUrls = [];
  }
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata() {
    return {
      client_name: 'interop TypeScript SDK client (foreign server)',
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

/** A plain MCP request with a bearer token: the HTTP status and WWW-Authenticate. */
async function callWith(token) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(mcp, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  await response.text();
  return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '' };
}

async function introspect(token) {
  const response = await fetch(`${base}/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: rsId, client_secret: rsSecret }),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
}

// --- 1. the foreign server's own discovery documents ---
const noToken = await callWith(undefined);
ok(noToken.status === 401, 'the foreign server answers 401 without a token', noToken);
const prmUrl = noToken.challenge.match(/resource_metadata="([^"]+)"/)?.[1];
ok(!!prmUrl && noToken.challenge.startsWith('Bearer '), 'its WWW-Authenticate is Bearer with resource_metadata', noToken.challenge);
const prm = prmUrl ? await (await fetch(prmUrl)).json() : {};
ok(prm.resource === mcp && prm.authorization_servers?.[0] === base, 'its protected-resource metadata names itself and our issuer', prm);

// --- 2. the TypeScript SDK client completes OAuth through our facade ---
const provider = new HeadlessProvider();
const newTransport = () => new StreamableHTTPClientTransport(new URL(mcp), { authProvider: provider, fetch: recordingFetch });
const newClient = () => new Client({ name: 'interop-ts-sdk-foreign', version: '1.0.0' });
let transport = newTransport();
let client = newClient();
let firstError;
try {
  await client.connect(transport);
} catch (error) {
  firstError = error;
}
ok(firstError instanceof UnauthorizedError, 'first connect ends in an authorization redirect', String(firstError));
ok(exchanges.some((e) => e.method === 'POST' && e.url === `${base}/register` && e.status === 201), 'registered with our authorization server', exchanges.map((e) => `${e.method} ${e.url} ${e.status}`));
const authUrl = provider.authorizationUrls[0];
ok(authUrl?.href.startsWith(`${base}/authorize?`) && authUrl.searchParams.get('resource') === mcp, 'authorization at our /authorize with resource = the foreign server', authUrl?.href);
ok(typeof provider.code === 'string' && provider.callbackUrl?.searchParams.get('iss') === base, 'consent and login returned a code (with iss)', provider.callbackUrl?.href);
await step('finishAuth exchanges the code at our /token', () => transport.finishAuth(provider.code));
const tokenCall = exchanges.find((e) => e.method === 'POST' && e.url === `${base}/token`);
ok(new URLSearchParams(tokenCall?.body ?? '').get('resource') === mcp && tokenCall?.status === 200, 'token request for the foreign resource answered 200', tokenCall && { status: tokenCall.status, body: tokenCall.body });
const access = provider.saved?.access_token ?? '';
const claims = access ? JSON.parse(Buffer.from(access.split('.')[1], 'base64url')) : {};
const header = access ? JSON.parse(Buffer.from(access.split('.')[0], 'base64url')) : {};
ok(claims.aud === mcp && claims.iss === base && header.typ === 'at+jwt', 'the access token is for the foreign server (aud), from our issuer, typ at+jwt', { header, claims });

transport = newTransport();
client = newClient();
await step('connect to the foreign server with the token', () => client.connect(transport));
const tools = await step('tools/list on the foreign server', () => client.listTools());
const names = (tools?.tools ?? []).map((t) => t.name).sort();
ok(JSON.stringify(names) === JSON.stringify(['add', 'whoami']), 'its tools are listed', names);
const sum = await step('tools/call add', () => client.callTool({ name: 'add', arguments: { a: 2, b: 40 } }));
ok(sum?.structuredContent?.sum === 42, 'add answers structuredContent {sum: 42}', sum);
const who = await step('tools/call whoami', () => client.callTool({ name: 'whoami', arguments: {} }));
ok(who?.structuredContent?.client_id === provider.info?.client_id && who?.structuredContent?.sub === claims.sub, 'the foreign server sees the verified client_id and sub', { who, claims });
await client.close();

// --- 3. introspection, then revocation reaching the foreign server at once ---
const before = await introspect(access);
ok(before.status === 200 && before.body.active === true && before.body.aud === mcp && before.body.client_id === provider.info?.client_id, 'introspection says active, for the foreign resource', before);
const revoke = await fetch(`${base}/revoke`, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ token: access, token_type_hint: 'access_token', client_id: provider.info?.client_id ?? '' }),
});
ok(revoke.status === 200, 'RFC 7009 revocation at our /revoke answers 200', revoke.status);
const after = await introspect(access);
ok(after.status === 200 && JSON.stringify(after.body) === '{"active":false}', 'introspection now says {"active": false} and nothing more', after);
const refused = await callWith(access);
ok(refused.status === 401 && /error="invalid_token"/.test(refused.challenge), 'the foreign server refuses the revoked (unexpired) token with 401', refused);
transport = newTransport();
client = newClient();
let recovered;
try {
  await client.connect(transport);
  recovered = 'connected';
} catch (error) {
  recovered = error;
}
ok(recovered === 'connected' || recovered instanceof UnauthorizedError, 'the SDK client handles that 401 (refresh or re-authorize)', String(recovered));
await client.close().catch(() => {});

// --- 4. tokens the foreign server must refuse by its own JWT checks ---
const jwks = await (await fetch(`${base}/jwks.json`)).json();
const kid = jwks.keys?.[0]?.kid;
const now = Math.floor(Date.now() / 1000);
const mint = (key, { iat = now, exp = now + 600, aud = mcp } = {}) =>
  new SignJWT({ client_id: claims.client_id, scope: 'costs:read', jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
    .setIssuer(base)
    .setSubject(String(claims.sub))
    .setAudience(aud)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
const { privateKey: otherKey } = await generateKeyPair('RS256');
const ourKey = crypto.createPrivateKey(fs.readFileSync(keyPath));
const control = await mint(ourKey);
const controlCall = await callWith(control);
ok(controlCall.status === 200, 'control: a token minted with our key, as we mint them, is accepted', controlCall);
const cases = [
  ['signed by another key (same kid)', await mint(otherKey)],
  ['expired', await mint(ourKey, { iat: now - 7200, exp: now - 3600 })],
  ['for another resource', await mint(ourKey, { aud: `${base}/mcp` })],
];
for (const [what, token] of cases) {
  const result = await callWith(token);
  ok(result.status === 401 && /error="invalid_token"/.test(result.challenge), `a token ${what} is refused with 401 invalid_token`, result);
  const state = await introspect(token);
  ok(state.status === 200 && JSON.stringify(state.body) === '{"active":false}', `introspection says inactive for a token ${what}`, state);
}

done('TypeScript SDK client and server behind the facade');
