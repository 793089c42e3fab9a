// An MCP server we did not write, behind our authorization server: the official TypeScript SDK's
// own Streamable HTTP server (`McpServer` + `StreamableHTTPServerTransport` on express), written
// the way its documentation shows, that knows nothing of serverless-mcp but its issuer URL. It
// serves its RFC 9728 protected-resource metadata naming our issuer, answers 401 with
// `WWW-Authenticate: Bearer … resource_metadata=…` without a valid token, verifies our RFC 9068
// access tokens with a standard JWT library (`jose`: our `jwks_uri`, RS256, `typ` at+jwt, `iss`,
// `aud` = its own resource URL, `exp`), and, given resource-server credentials, asks our RFC 7662
// introspection endpoint about every token so that a revoked one is refused at once.
//
// Environment:
//   TS_ISSUER      our issuer (e.g. http://127.0.0.1:8081)
//   TS_RESOURCE    this server's resource URL (e.g. http://127.0.0.1:8082/mcp); it listens on
//                  that port on 127.0.0.1
//   TS_INTROSPECT_CLIENT_ID, TS_INTROSPECT_CLIENT_SECRET
//                  the credentials from `serverless-mcp admin clients add --resource-server`;
//                  without them only the local JWT checks run (revocation is then seen only
//                  when the token expires)
// Prints `ts_server listening on <resource>` once it serves.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { mcpAuthMetadataRouter, getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';

const issuer = process.env.TS_ISSUER;
const resourceText = process.env.TS_RESOURCE;
if (!issuer || !resourceText) {
  console.error('TS_ISSUER and TS_RESOURCE must be set');
  process.exit(2);
}
const resource = new URL(resourceText);
const clientId = process.env.TS_INTROSPECT_CLIENT_ID;
const clientSecret = process.env.TS_INTROSPECT_CLIENT_SECRET;

// Our metadata names the JWKS and the introspection endpoint (RFC 8414).
const metadataResponse = await fetch(`${issuer}/.well-known/oauth-authorization-server`);
if (!metadataResponse.ok) {
  console.error(`authorization server metadata: HTTP ${metadataResponse.status}`);
  process.exit(1);
}
const asMetadata = await metadataResponse.json();
if (asMetadata.issuer !== issuer) {
  console.error(`the metadata names issuer ${asMetadata.issuer}, not ${issuer}`);
  process.exit(1);
}
const jwks = createRemoteJWKSet(new URL(asMetadata.jwks_uri));

/** RFC 7662 §2.1: POST the token with this resource server's credentials (client_secret_basic). */
async function introspect(token) {
  const credentials = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  const response = await fetch(asMetadata.introspection_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  if (response.status !== 200) throw new ServerError(`introspection answered HTTP ${response.status}`);
  return response.json();
}

/** The SDK's `OAuthTokenVerifier`: the RFC 9068 checks, then (with credentials) introspection. */
const verifier = {
  async verifyAccessToken(token) {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: resource.href,
        algorithms: ['RS256'],
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
      }));
    } catch (error) {
      console.error(`token refused: ${error.code ?? error.name}`);
      throw new InvalidTokenError(`the access token is not valid (${error.code ?? 'invalid'})`);
    }
    if (clientId && clientSecret) {
      const state = await introspect(token);
      if (state.active !== true) {
        console.error('token refused: introspection says inactive');
        throw new InvalidTokenError('the access token is no longer active');
      }
    }
    return {
      token,
      clientId: String(payload.client_id),
      scopes: String(payload.scope ?? '').split(' ').filter(Boolean),
      expiresAt: payload.exp,
      resource: new URL(String(payload.aud)),
      extra: { sub: payload.sub },
    };
  },
};

/** A fresh server per request (stateless Streamable HTTP), with two tools. */
function buildServer() {
  const server = new McpServer({ name: 'interop-ts-server', version: '1.0.0' });
  server.registerTool(
    'add',
    {
      description: 'Adds two numbers.',
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { sum: z.number() },
      annotations: { readOnlyHint: true },
    },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  );
  server.registerTool(
    'whoami',
    {
      description: 'Who the access token says is calling.',
      outputSchema: { sub: z.string(), client_id: z.string(), scopes: z.array(z.string()) },
      annotations: { readOnlyHint: true },
    },
    // No input schema: the SDK passes only the request context.
    async (extra) => {
      const who = { sub: String(extra.authInfo?.extra?.sub ?? ''), client_id: extra.authInfo?.clientId ?? '', scopes: extra.authInfo?.scopes ?? [] };
      return { content: [{ type: 'text', text: JSON.stringify(who) }], structuredContent: who };
    },
  );
  return server;
}

const app = createMcpExpressApp({ host: '127.0.0.1' });
app.use(
  mcpAuthMetadataRouter({
    oauthMetadata: asMetadata,
    resourceServerUrl: resource,
    scopesSupported: ['costs:read'],
    resourceName: 'interop TypeScript MCP server',
  }),
);
const bearer = requireBearerAuth({
  verifier,
  requiredScopes: ['costs:read'],
  resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource),
  expectedResource: resource,
});
app.post(resource.pathname, bearer, async (req, res) => {
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    transport.close();
    server.close();
  });
  try {
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  } catch (error) {
    console.error(error);
    if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'internal error' }, id: null });
  }
});
const notAllowed = (_req, res) => res.status(405).set('Allow', 'POST').end();
app.get(resource.pathname, notAllowed);
app.delete(resource.pathname, notAllowed);

const listener = app.listen(Number(resource.port), '127.0.0.1', () => console.log(`ts_server listening on ${resource.href}`));
// Stopped at once (open keep-alive connections would hold a graceful close).
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {
  listener.close();
  process.exit(0);
});
