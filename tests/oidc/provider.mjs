// A stand-in for Cognito managed login: oidc-provider configured as a Cognito app client is
// (separate /oauth2/authorize and /oauth2/token endpoints, client_secret_basic, PKCE required,
// RS256 ID tokens carrying `email`, `cognito:username`, `cognito:groups` and `token_use: "id"`, a refresh token with
// every code exchange, not rotated), with an interaction that logs one fixed user in and
// consents without any page.
//
// Test controls (no authentication: a loopback test stand-in only):
//   POST /test/global-sign-out      revokes every refresh and access token of the user, as
//                                   Cognito's AdminUserGlobalSignOut does
//   POST /test/token-use/<value>    the `token_use` later ID tokens carry (e.g. `access`)
//
// Usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [PUBLIC_PORT]
// Prints "listening <issuer>" on stdout once it accepts connections. With PUBLIC_PORT the
// issuer (and every URL it publishes) is http://127.0.0.1:PUBLIC_PORT, a proxy in front of
// PORT (bench/roundtrips.py delays and counts the calls there).

// The warnings about what a test stand-in deliberately is (in-memory, dev keys, Node 20) are
// noise in test output; anything else oidc-provider warns about still shows.
const expected = ['Unsupported runtime', 'development-only'];
const warn = console.warn;
console.warn = (...args) => {
  if (!expected.some((text) => String(args[0]).includes(text))) warn(...args);
};
const { default: Provider } = await import('oidc-provider');

const [port, clientId, clientSecret, redirectUri, publicPort] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}

const USER = {
  sub: '5c6f3a1e-8d2b-4f7a-9e01-3b4c5d6e7f80',
  username: 'alice',
  email: 'alice@example.com',
  groups: ['finance', 'web'],
};

const issuer = `http://127.0.0.1:${publicPort || port}`;
// Grants made by the login interaction (each refresh token belongs to one).
const grantIds = new Set();
let tokenUse = 'id';

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
  }],
  routes: {
    authorization: '/oauth2/authorize',
    token: '/oauth2/token',
    jwks: '/.well-known/jwks.json',
    userinfo: '/oauth2/userInfo',
  },
  pkce: { required: () => true },
  // Cognito issues a refresh token with every code exchange (no offline_access), independent of
  // the browser session, and (by default) does not rotate it.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  rotateRefreshToken: false,
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub', 'cognito:username', 'cognito:groups', 'token_use'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Cognito puts the profile claims in the ID token itself.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    if (sub !== USER.sub) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: USER.email,
          email_verified: true,
          name: 'Alice',
          'cognito:username': USER.username,
          'cognito:groups': USER.groups,
          token_use: tokenUse,
        };
      },
    };
  },
});

// The test controls.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/test/global-sign-out') {
    for (const grantId of grantIds) {
      await provider.RefreshToken.revokeByGrantId(grantId);
      await provider.AccessToken.revokeByGrantId(grantId);
    }
    ctx.body = { revoked_grants: grantIds.size };
    return undefined;
  }
  const use = ctx.method === 'POST' && ctx.path.match(/^\/test\/token-use\/([a-z]+)$/);
  if (use) {
    [, tokenUse] = use;
    ctx.body = { token_use: tokenUse };
    return undefined;
  }
  return next();
});

// The login "page": the fixed user signs in and consents to what was asked, at once.
provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || !ctx.path.startsWith('/interaction/')) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const grant = new provider.Grant({ accountId: USER.sub, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  grantIds.add(grantId);
  await provider.interactionFinished(
    ctx.req,
    ctx.res,
    { login: { accountId: USER.sub }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
  ctx.respond = false;
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
