// The authorization pages as a person meets them, in real Chromium (Debian's package driven by
// playwright-core): a public client registers, the browser walks authorize → consent → sign-in
// (a wrong password first) → the client's redirect, and the client exchanges the code. Checked
// on the way: what the page says, the cookies the browser keeps (attributes on an http loopback
// issuer and on an https one), that the Content-Security-Policy blocks nothing the pages need,
// and an axe-core accessibility audit of every page (no serious or critical violation).
// Screenshots of each page go to $BROWSER_WORK/screens.
//
// Environment: SMCP_HTTP (an http loopback issuer, e.g. http://127.0.0.1:PORT), SMCP_HTTPS (an
// https issuer whose origin this script serves itself, proxying to SMCP_HTTPS_UPSTREAM with the
// certificate TLS_CERT/TLS_KEY), SMCP_USER/SMCP_PASSWORD (the dev account of both instances:
// SMCP_HTTPS_USER/SMCP_HTTPS_PASSWORD for the second), CHROMIUM (the browser), BROWSER_WORK.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const env = process.env;
const screens = `${env.BROWSER_WORK}/screens`;
mkdirSync(screens, { recursive: true });
const axeSource = readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

let n = 0;
let failures = 0;
async function check(name, fn) {
  n += 1;
  try {
    await fn();
    console.log(`ok ${n} - ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`not ok ${n} - ${name}`);
    console.log(`  # ${String(error?.stack ?? error).split('\n').join('\n  # ')}`);
  }
}

// The client's redirect target: records each authorization response.
function callbackServer() {
  const seen = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/callback') seen.push(url); // not the browser's /favicon.ico
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Back at the client</title><p>Signed in.</p>');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, seen, url: `http://127.0.0.1:${server.address().port}/callback` }),
    ),
  );
}

// The https issuer's front: TLS terminated here, everything passed to serve unchanged.
function tlsFront(port, upstream) {
  const target = new URL(upstream);
  const server = https.createServer(
    { cert: readFileSync(env.TLS_CERT), key: readFileSync(env.TLS_KEY) },
    (req, res) => {
      const proxied = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        },
      );
      proxied.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(proxied);
    },
  );
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

async function register(base, redirectUri, { ca } = {}) {
  const response = await request(`${base}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Browser Walk',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
    ca,
  });
  assert.equal(response.status, 201, `registration answered ${response.status}: ${response.body}`);
  return JSON.parse(response.body).client_id;
}

// fetch, but able to trust the test CA for the https front.
function request(url, { method = 'GET', headers = {}, body, ca } = {}) {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(target, { method, headers, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function authorizeUrl(base, clientId, redirectUri, challenge, state) {
  const url = new URL(`${base}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'costs:read',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource: `${base}/mcp`,
  }).toString();
  return url.toString();
}

// Every CSP report the page raises, and console errors, per page.
function watch(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

async function audit(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }),
  );
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((node) => node.target.join(' ')).join(', ')}`),
    [],
    `${label}: serious accessibility violations`,
  );
  return result.violations.length;
}

async function shot(page, name) {
  await page.screenshot({ path: `${screens}/${name}.png`, fullPage: true });
}

async function walk(browser, { label, base, user, password, https: secure, ca }) {
  const callback = await callbackServer();
  const context = await browser.newContext({ ignoreHTTPSErrors: secure, viewport: { width: 800, height: 700 } });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP blocked ${e.violatedDirective}: ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const problems = watch(page);
  const clientId = await register(base, callback.url, { ca });
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(12).toString('base64url');
  const cookieNames = secure ? ['__Host-smcp_csrf', '__Host-smcp_consent'] : ['smcp_csrf', 'smcp_consent'];

  await check(`${label}: /authorize shows the consent page naming the client, the service and the scope`, async () => {
    const answer = await page.goto(authorizeUrl(base, clientId, callback.url, challenge, state));
    assert.equal(answer.status(), 200);
    assert.equal(await page.title(), 'Allow access?');
    const heading = await page.getByRole('heading', { level: 1 }).innerText();
    assert.match(heading, /Browser Walk wants to access/);
    assert.ok(await page.getByText('costs:read').isVisible(), 'the scope is shown');
    assert.ok(await page.getByRole('button', { name: 'Allow' }).isVisible());
    assert.ok(await page.getByRole('button', { name: 'Deny' }).isVisible());
    await shot(page, `${label}-consent`);
  });

  await check(`${label}: the consent page has no serious accessibility violation`, () => audit(page, 'consent'));

  await check(`${label}: the browser keeps the CSRF cookie host-only, HttpOnly, SameSite=Lax${secure ? ', Secure, __Host-' : ', not Secure (http loopback)'}`, async () => {
    const cookies = await context.cookies();
    const csrf = cookies.find((c) => c.name === cookieNames[0]);
    assert.ok(csrf, `cookie ${cookieNames[0]} kept; the browser has ${cookies.map((c) => c.name).join(', ')}`);
    assert.equal(csrf.httpOnly, true);
    assert.equal(csrf.sameSite, 'Lax');
    assert.equal(csrf.secure, Boolean(secure));
    assert.equal(csrf.path, '/');
    assert.equal(csrf.domain, new URL(base).hostname, 'host-only (no Domain attribute)');
    assert.ok(csrf.expires > Date.now() / 1000, 'a bounded lifetime (Max-Age)');
  });

  await check(`${label}: Allow leads to the sign-in page, whose username field does not auto-capitalise`, async () => {
    await Promise.all([page.waitForURL(/\/login\b/), page.getByRole('button', { name: 'Allow' }).click()]);
    assert.equal(await page.title(), 'Sign in');
    const username = page.getByLabel('Username');
    assert.equal(await username.getAttribute('autocapitalize'), 'none');
    assert.equal(await username.getAttribute('spellcheck'), 'false');
    assert.equal(await username.getAttribute('autocomplete'), 'username');
    await shot(page, `${label}-login`);
  });

  await check(`${label}: the sign-in page has no serious accessibility violation`, () => audit(page, 'login'));

  await check(`${label}: a wrong password shows an error announced to screen readers`, async () => {
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(`${password}-wrong`);
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
    const alert = page.getByRole('alert');
    assert.equal(await alert.count(), 1, 'one element with role=alert');
    assert.match(await alert.innerText(), /\S/);
    assert.ok(await alert.isVisible());
    await shot(page, `${label}-login-error`);
    await audit(page, 'login error');
  });

  await check(`${label}: the right password returns the browser to the client with a code and its state`, async () => {
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.toString().startsWith(callback.url)),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    const back = callback.seen.at(-1);
    assert.ok(back, 'the callback was reached');
    assert.equal(back.searchParams.get('state'), state);
    assert.equal(back.searchParams.get('iss'), base, 'RFC 9207 iss');
    const code = back.searchParams.get('code');
    assert.ok(code);
    const token = await request(`${base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: callback.url,
        client_id: clientId,
        code_verifier: verifier,
        resource: `${base}/mcp`,
      }).toString(),
      ca,
    });
    assert.equal(token.status, 200, token.body);
    assert.equal(JSON.parse(token.body).token_type, 'Bearer');
  });

  await check(`${label}: after approving, the browser keeps the approval cookie with the same attributes`, async () => {
    const cookies = await context.cookies();
    const consent = cookies.find((c) => c.name === cookieNames[1]);
    assert.ok(consent, `cookie ${cookieNames[1]} kept; the browser has ${cookies.map((c) => c.name).join(', ')}`);
    assert.equal(consent.httpOnly, true);
    assert.equal(consent.sameSite, 'Lax');
    assert.equal(consent.secure, Boolean(secure));
    assert.equal(consent.domain, new URL(base).hostname);
    for (const cookie of cookies) {
      assert.ok(cookieNames.includes(cookie.name), `no other cookie (found ${cookie.name})`);
    }
  });

  await check(`${label}: a second authorization in the same browser skips the consent page`, async () => {
    const second = pkce();
    await page.goto(authorizeUrl(base, clientId, callback.url, second.challenge, 'again'));
    await page.waitForURL(/\/login\b/);
    assert.equal(await page.title(), 'Sign in');
  });

  await check(`${label}: an unknown client gets the error page, not a redirect`, async () => {
    const answer = await page.goto(authorizeUrl(base, 'no-such-client', callback.url, challenge, state));
    assert.equal(answer.status(), 400);
    assert.equal(await page.title(), 'Authorization error');
    assert.match(await page.locator('main').innerText(), /invalid_request|invalid_client/);
    await shot(page, `${label}-error`);
    await audit(page, 'error');
  });

  await check(`${label}: no CSP violation or console error on any page`, async () => {
    assert.deepEqual(problems.filter((p) => !/status of 40\d/.test(p)), []);
  });

  await context.close();
  callback.server.close();
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM,
  headless: true,
  args: env.CI_NO_SANDBOX === '1' ? ['--no-sandbox'] : [],
});
try {
  await walk(browser, { label: 'http', base: env.SMCP_HTTP, user: env.SMCP_USER, password: env.SMCP_PASSWORD });
  const front = await tlsFront(Number(new URL(env.SMCP_HTTPS).port), env.SMCP_HTTPS_UPSTREAM);
  try {
    await walk(browser, {
      label: 'https',
      base: env.SMCP_HTTPS,
      user: env.SMCP_HTTPS_USER,
      password: env.SMCP_HTTPS_PASSWORD,
      https: true,
      ca: readFileSync(env.TLS_CERT),
    });
  } finally {
    front.close();
  }
} finally {
  await browser.close();
}
console.log(`1..${n}`);
if (failures > 0) {
  console.log(`# ${failures} failed`);
  process.exit(1);
}
