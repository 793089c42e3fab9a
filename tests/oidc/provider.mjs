// A stand-in for Cognito managed login: oidc-provider configured as a Cognito app client is
// (separate /oauth2/authorize and /oauth2/token endpoints, client_secret_basic, PKCE required,
// RS256 ID tokens carrying `email` and `cognito:groups`), with an interaction that logs one
// fixed user in and consents without any page.
//
// Usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
// Prints "listening <issuer>" on stdout once it accepts connections.

// The warnings about what a test stand-in deliberately is (in-memory, dev keys, Node 20) are
// noise in test output; anything else oidc-provider warns about still shows.
const expected = ['Unsupported runtime', 'development-only'];
const warn = console.warn;
console.warn = (...args) => {
  if (!expected.some((text) => String(args[0]).includes(text))) warn(...args);
};
const { default: Provider } = await import('oidc-provider');

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}

const USER = {
  sub: '5c6f3a1e-8d2b-4f7a-9e01-3b4c5d6e7f80',
  email: 'alice@example.com',
  groups: ['finance', 'web'],
};

const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
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
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub', 'cognito:groups'],
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
          'cognito:groups': USER.groups,
        };
      },
    };
  },
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
