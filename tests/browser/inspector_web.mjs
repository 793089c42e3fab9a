// The MCP Inspector's web UI (@modelcontextprotocol/inspector 2.12.0, `mcp-inspector --web`) in
// real Chromium (Debian's package driven by playwright-core) against `serverless-mcp serve`: the
// Inspector starts with serve's MCP URL preset (Streamable HTTP), the UI connects, its OAuth flow
// sends the browser through our consent and sign-in pages and back to the Inspector's
// /oauth/callback, and the UI lists the tools and calls get_today_date. Twice: with the
// Inspector's default --protocol-era legacy (MCP 2025-11-25) and with modern (2026-07-28), each
// a fresh Inspector (its own port, storage and client registration) and browser context.
// Screenshots of the consent page, the connected UI and the tool result go to
// $BROWSER_WORK/screens (inspector-<era>-*.png).
//
// How the web UI reaches serve: only the authorization pages are loaded by the browser itself
// (top-level navigations to /authorize, /consent, /login). Discovery, registration, the token
// request (POST /api/fetch) and every MCP request (POST /api/mcp/connect, /api/mcp/send) go
// through the Inspector's own Node backend, whose fetch sends no Origin header, so serve's Origin
// check on /mcp (an absent Origin is accepted) and CORS play no part. The test checks that split.
//
// Environment (as walk.mjs): SMCP_HTTP (serve's base URL, e.g. http://127.0.0.1:PORT),
// SMCP_USER/SMCP_PASSWORD (its dev account), CHROMIUM, CI_NO_SANDBOX, BROWSER_WORK.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const env = process.env;
const here = path.dirname(fileURLToPath(import.meta.url));
const base = env.SMCP_HTTP.replace(/\/$/, '');
const mcpUrl = `${base}/mcp`;
const screens = `${env.BROWSER_WORK}/screens`;
mkdirSync(screens, { recursive: true });
const launcher = path.join(here, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');

let n = 0;
let failures = 0;
let stopped = false; // within one session: each step needs the one before it
async function check(name, fn) {
  n += 1;
  if (stopped) {
    console.log(`not ok ${n} - ${name} # an earlier step failed`);
    failures += 1;
    return;
  }
  try {
    await fn();
    console.log(`ok ${n} - ${name}`);
  } catch (error) {
    failures += 1;
    stopped = true;
    console.log(`not ok ${n} - ${name}`);
    console.log(`  # ${String(error?.stack ?? error).split('\n').join('\n  # ')}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Starts the Inspector web UI on a free loopback port; resolves once it says it is up. Its own API
// token stays on (no DANGEROUSLY_OMIT_AUTH): the page is opened with ?MCP_INSPECTOR_API_TOKEN=.
async function startInspector(era, home) {
  const token = crypto.randomBytes(24).toString('hex');
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const childEnv = { ...env };
    for (const key of ['MCP_CATALOG_PATH', 'ALLOWED_ORIGINS', 'HOST', 'DANGEROUSLY_OMIT_AUTH', 'MCP_PROXY_AUTH_TOKEN']) {
      delete childEnv[key];
    }
    Object.assign(childEnv, {
      HOME: home,
      CLIENT_PORT: String(port),
      MCP_INSPECTOR_API_TOKEN: token,
      MCP_AUTO_OPEN_ENABLED: 'false',
      // The MCP Apps sandbox and app-origin listeners default to fixed ports (6275, 6278): any
      // free port here, so parallel runs do not collide.
      MCP_SANDBOX_PORT: '0',
      MCP_APP_ORIGIN_PORT: '0',
      MCP_STORAGE_DIR: path.join(home, 'storage'),
      MCP_INSPECTOR_SECRET_STORE: 'memory',
    });
    const args = [launcher, '--web', '--transport', 'http', '--server-url', mcpUrl, '--protocol-era', era];
    const child = spawn(process.execPath, args, {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const up = await new Promise((resolve) => {
      const onData = (chunk) => {
        output += chunk;
        if (/is up and running at/.test(output)) resolve(true);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', () => resolve(false));
      child.on('error', () => resolve(false));
    });
    if (up) {
      const origin = `http://127.0.0.1:${port}`;
      return { child, origin, url: `${origin}/?MCP_INSPECTOR_API_TOKEN=${token}`, output: () => output };
    }
    if (attempt >= 3 || !/IN USE|EADDRINUSE/i.test(output)) {
      throw new Error(`the Inspector web UI did not start:\n${output.replaceAll(token, '<token>')}`);
    }
  }
}

async function stopInspector(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const shot = (page, name) => page.screenshot({ path: `${screens}/${name}.png`, fullPage: true });

// One Inspector, one browser context: connect (OAuth through our pages), list, call. `era` is the
// Inspector's --protocol-era: legacy (its default: MCP 2025-11-25) or modern (2026-07-28).
async function session(browser, era, { label, protocol }) {
  stopped = false;
  const home = `${env.BROWSER_WORK}/inspector-web-${era}`;
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const inspector = await startInspector(era, home);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    // The UI's index.html links Google Fonts; there is no network here, so answer at once.
    await context.route(/^https:\/\/fonts\.(googleapis|gstatic)\.com\//, (route) => route.abort());
    const serveOrigin = new URL(base).origin;
    const toServe = []; // every request the browser itself sends to serve
    const tokenAnswers = []; // what the Inspector's backend relayed from serve's /token
    context.on('request', (request) => {
      if (new URL(request.url()).origin === serveOrigin) {
        toServe.push({
          method: request.method(),
          path: new URL(request.url()).pathname,
          type: request.resourceType(),
          navigation: request.isNavigationRequest(),
          origin: request.headers().origin,
        });
      }
    });
    context.on('response', async (response) => {
      const request = response.request();
      if (!request.url().startsWith(`${inspector.origin}/api/fetch`)) return;
      let target;
      try {
        target = JSON.parse(request.postData() ?? '{}').url;
      } catch {
        return;
      }
      if (target === `${base}/token`) {
        tokenAnswers.push(await response.json().catch(() => ({})));
      }
    });
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    const serverCard = page.getByText(mcpUrl, { exact: true });

    await check(`${label}: the Inspector web UI (port ${new URL(inspector.origin).port}) shows serve's MCP URL preset as Streamable HTTP`, async () => {
      await page.goto(inspector.url);
      await serverCard.waitFor();
      assert.ok(await page.getByText('Streamable HTTP', { exact: true }).isVisible());
      assert.ok(await page.getByText('Disconnected', { exact: true }).isVisible());
    });

    await check(`${label}: connecting sends the browser to our consent page, naming the Inspector and the scope`, async () => {
      await Promise.all([
        page.waitForURL((url) => url.origin === serveOrigin && url.pathname === '/authorize'),
        page.getByRole('switch').first().click({ force: true }), // Mantine's switch: its input is visually hidden
      ]);
      const authorize = new URL(page.url());
      assert.equal(authorize.searchParams.get('redirect_uri'), `${inspector.origin}/oauth/callback`);
      assert.equal(authorize.searchParams.get('resource'), mcpUrl);
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(await page.title(), 'Allow access?');
      assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /MCP Inspector wants to access/);
      assert.ok(await page.getByText('costs:read').first().isVisible(), 'the scope is shown');
      await shot(page, `inspector-${era}-consent`);
    });

    await check(`${label}: Allow leads to our sign-in page`, async () => {
      await Promise.all([
        page.waitForURL((url) => url.origin === serveOrigin && url.pathname === '/login'),
        page.getByRole('button', { name: 'Allow' }).click(),
      ]);
      assert.equal(await page.title(), 'Sign in');
    });

    await check(`${label}: signing in returns the browser to the Inspector's callback and the UI connects (MCP ${protocol})`, async () => {
      await page.getByLabel('Username').fill(env.SMCP_USER);
      await page.getByLabel('Password').fill(env.SMCP_PASSWORD);
      await Promise.all([
        page.waitForURL((url) => url.origin === inspector.origin && url.pathname === '/oauth/callback'),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      await page.getByText(/^Connected( \(\d+ms\))?$/).first().waitFor();
      await page.getByText(`MCP ${protocol}`, { exact: true }).waitFor(); // the negotiated version
      await shot(page, `inspector-${era}-connected`);
    });

    await check(`${label}: serve's token endpoint answered 200 with a Bearer token (relayed by the Inspector's backend)`, async () => {
      assert.equal(tokenAnswers.length, 1, `one token request through /api/fetch (saw ${tokenAnswers.length})`);
      assert.equal(tokenAnswers[0].status, 200, JSON.stringify(tokenAnswers[0]).slice(0, 300));
      assert.equal(JSON.parse(tokenAnswers[0].body).token_type, 'Bearer');
    });

    await check(`${label}: the Tools tab lists the tools, get_today_date among them`, async () => {
      await page.getByText('Tools', { exact: true }).first().click();
      await page.getByRole('button', { name: /^get_today_date\b/ }).waitFor();
      const heading = await page.getByText(/^Tools \(\d+\)$/).innerText();
      const count = Number(heading.match(/\d+/)[0]);
      assert.ok(count >= 10, `tools listed: ${count}`);
      assert.ok(await page.getByRole('button', { name: /^get_cost_and_usage\b/ }).isVisible());
    });

    await check(`${label}: calling get_today_date (no arguments) shows a result with the date (YYYY-MM-DD)`, async () => {
      await page.getByRole('button', { name: /^get_today_date\b/ }).click();
      await page.getByRole('button', { name: 'Execute Tool' }).click();
      const today = page.getByText(/"today": "\d{4}-\d{2}-\d{2}"/).first();
      await today.waitFor();
      const date = (await today.innerText()).match(/\d{4}-\d{2}-\d{2}/)[0];
      const days = Math.abs(Date.parse(`${date}T00:00:00Z`) - Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`)) / 86_400_000;
      assert.ok(days <= 1, `today's date (UTC) shown, got ${date}`);
      assert.ok(await page.getByText('Results', { exact: true }).isVisible());
      assert.ok(await page.getByText('Structured Output', { exact: true }).isVisible());
      await shot(page, `inspector-${era}-tool-result`);
    });

    await check(`${label}: the browser itself loads only the authorization pages from serve (MCP and tokens go through the Inspector backend)`, async () => {
      const direct = toServe.filter((r) => !r.navigation || r.type !== 'document');
      assert.deepEqual(direct, [], 'no fetch/XHR from the UI to serve');
      const paths = new Set(toServe.map((r) => r.path));
      assert.ok(paths.has('/authorize') && paths.has('/consent') && paths.has('/login'), [...paths].join(', '));
      assert.ok(!paths.has('/mcp') && !paths.has('/token'), [...paths].join(', '));
      // The form posts come from serve's own pages: Origin is serve's, or "null" (Chromium's
      // answer under the pages' Referrer-Policy: no-referrer), never the Inspector's.
      for (const post of toServe.filter((r) => r.method === 'POST')) {
        assert.ok([serveOrigin, 'null'].includes(post.origin), `${post.path} Origin: ${post.origin}`);
      }
    });

    await check(`${label}: no uncaught error in the Inspector page`, async () => {
      assert.deepEqual(pageErrors, []);
    });
  } finally {
    await context.close();
    await stopInspector(inspector.child);
  }
}

// The README's command for the web UI is the one run here (same version, same flags).
await check("the README's Inspector web UI command is the one tested here", async () => {
  const readme = readFileSync(path.join(here, '..', '..', 'README.md'), 'utf8');
  const version = JSON.parse(
    readFileSync(path.join(here, 'node_modules', '@modelcontextprotocol', 'inspector', 'package.json'), 'utf8'),
  ).version;
  const documented = `npx @modelcontextprotocol/inspector@${version} --web --transport http --server-url http://127.0.0.1:8080/mcp`;
  assert.ok(readme.includes(documented), `README lacks: ${documented}`);
});
stopped = false;

const browser = await chromium.launch({
  executablePath: env.CHROMIUM,
  headless: true,
  args: env.CI_NO_SANDBOX === '1' ? ['--no-sandbox'] : [],
});
try {
  await session(browser, 'legacy', { label: 'legacy (the default)', protocol: '2025-11-25' });
  await session(browser, 'modern', { label: 'modern', protocol: '2026-07-28' });
} finally {
  await browser.close();
}
console.log(`1..${n}`);
if (failures > 0) {
  console.log(`# ${failures} failed`);
  process.exit(1);
}
