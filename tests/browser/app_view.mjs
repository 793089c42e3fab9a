// The MCP App of the cost tools (SEP-1865) as a person sees it, in real Chromium (Debian's
// package driven by playwright-core): a minimal web host, written here with the official
// package's host side (AppBridge and PostMessageTransport from @modelcontextprotocol/ext-apps
// 2.0.4, its ESM files and their dependencies served as they are, with an import map), lists
// serve's tools, reads the ui:// resource the first series tool names (a real MCP resources/read
// with a real OAuth token), renders its HTML in a sandboxed iframe (allow-scripts only, opaque
// origin) under the CSP the spec builds from the resource's _meta.ui.csp, sends the view the
// tool input and a real get_cost_and_usage result from serve, and proxies the view's tools/call
// requests to serve. Checked: the marks of every series, a hover value, hiding a series, the
// table's numbers, a period control's real call and re-render, granularity, the keyboard, the
// size the view reports, light and dark themes, no console error, no CSP violation, an
// axe-core audit with no serious violation; then a get_cost_forecast result (mean and interval)
// and its "Next 6 months" call. Screenshots go to $BROWSER_WORK/screens.
//
// The host's backend (this script's http server) holds the token and forwards the page's
// JSON-RPC to serve's /mcp, as a web host's server would: the browser never talks to serve.
//
// Last, the same view on Cost Explorer data: a serve with SMCP_COST_SOURCE=aws against moto
// (SMCP_AWS_HTTP, its login in SMCP_AWS_USER/SMCP_AWS_PASSWORD, moto at AWS_ENDPOINT_URL), a
// GetCostAndUsage answer by service seeded in moto, drawn and tabulated by the view.
//
// Environment (as walk.mjs): SMCP_HTTP, SMCP_USER/SMCP_PASSWORD, CHROMIUM, CI_NO_SANDBOX,
// BROWSER_WORK; SMCP_AWS_HTTP, SMCP_AWS_USER/SMCP_AWS_PASSWORD, AWS_ENDPOINT_URL.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { obtainTokens } from '../interop/lib/oauth.mjs';

const env = process.env;
const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, 'node_modules');
const base = env.SMCP_HTTP.replace(/\/$/, '');
// Which serve the host talks to: the sample-data instance, then (last section) the one on
// Cost Explorer data.
let mcpUrl = `${base}/mcp`;
const screens = `${env.BROWSER_WORK}/screens`;
mkdirSync(screens, { recursive: true });
const axeSource = readFileSync(path.join(modules, 'axe-core', 'axe.min.js'), 'utf8');
const VIEW_URI = 'ui://aws-costs/cost-view.html';
const MIME = 'text/html;profile=mcp-app';
const PROTOCOL = '2025-11-25';

let n = 0;
let failures = 0;
let stopped = false; // each step needs the one before it
async function check(name, fn) {
  n += 1;
  if (stopped) {
    failures += 1;
    console.log(`not ok ${n} - ${name} # an earlier step failed`);
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

// ---- MCP with serve: plain JSON-RPC over Streamable HTTP, the token in Authorization ----
let accessToken;
let nextId = 1;
async function mcp(method, params = {}) {
  const id = nextId++;
  const response = await fetch(mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': PROTOCOL,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method}: serve answered ${response.status}: ${text.slice(0, 300)}`);
  const messages = (response.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).filter(Boolean).map((l) => JSON.parse(l))
    : [JSON.parse(text)];
  const answer = messages.find((m) => m.id === id);
  if (!answer) throw new Error(`${method}: no answer in ${text.slice(0, 300)}`);
  return answer;
}

// ---- The host's backend: the page, the package's ESM files, and the MCP proxy ----
const importMap = {
  '@modelcontextprotocol/ext-apps/app-bridge': '@modelcontextprotocol/ext-apps/dist/src/app-bridge.js',
  '@modelcontextprotocol/client': '@modelcontextprotocol/client/dist/index.mjs',
  '@modelcontextprotocol/client/_shims': '@modelcontextprotocol/client/dist/shimsBrowser.mjs',
  '@modelcontextprotocol/core': '@modelcontextprotocol/core/dist/index.mjs',
  '@modelcontextprotocol/core/internal': '@modelcontextprotocol/core/dist/internal.mjs',
  zod: 'zod/index.js',
  'zod/v4': 'zod/v4/index.js',
  'zod/compile': 'zod/compile.js',
  eventsource: 'eventsource/dist/index.js',
  'eventsource-parser': 'eventsource-parser/dist/index.js',
  'eventsource-parser/stream': 'eventsource-parser/dist/stream.js',
  'pkce-challenge': 'pkce-challenge/dist/index.browser.js',
};
for (const file of Object.values(importMap)) {
  if (!existsSync(path.join(modules, file))) throw new Error(`the host page needs ${file} (npm ci in tests/browser)`);
}
const servable = [...new Set(Object.values(importMap).map((f) => f.split('/').slice(0, f.startsWith('@') ? 2 : 1).join('/')))];

// The host page: finds the tool's view, reads it, frames it, and bridges it to serve.
function hostPage(setup) {
  const map = Object.fromEntries(Object.entries(importMap).map(([k, v]) => [k, `/nm/${v}`]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCP Apps test host</title><link rel="icon" href="data:,">
<style>body{margin:0;padding:16px;font-family:system-ui;background:${setup.theme === 'dark' ? '#202124' : '#eceff1'}}
iframe{display:block;width:760px;height:200px;border:1px solid #8c959f;border-radius:8px;background:transparent}</style>
<script type="importmap">${JSON.stringify({ imports: map })}</script>
<script type="application/json" id="setup">${JSON.stringify(setup).replaceAll('<', '\\u003c')}</script>
</head><body><main><h1 style="font-size:14px;margin:0 0 8px;color:${setup.theme === 'dark' ? '#e8eaed' : '#202124'}">Test host</h1></main>
<script type="module">
import { AppBridge, PostMessageTransport, getToolUiResourceUri, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/app-bridge';
const setup = JSON.parse(document.getElementById('setup').textContent);
const state = (window.hostState = { sizes: [], calls: [], answered: 0, resultSent: false, error: null, csp: null });
let id = 0;
async function mcp(method, params) {
  const response = await fetch('/host/mcp', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) });
  const message = await response.json();
  if (message.error) throw Object.assign(new Error(message.error.message), { code: message.error.code });
  return message.result;
}
// The spec's "CSP Construction from Metadata", as strict as it allows (no connect-src 'self').
function policy(csp = {}) {
  const list = (xs, fallback) => (Array.isArray(xs) && xs.length ? xs.join(' ') : fallback);
  const res = list(csp.resourceDomains, '');
  return [\`default-src 'none'\`, \`script-src 'unsafe-inline' \${res}\`, \`style-src 'unsafe-inline' \${res}\`,
    \`img-src data: \${res}\`, \`font-src \${res || "'none'"}\`, \`media-src data: \${res}\`,
    \`connect-src \${list(csp.connectDomains, "'none'")}\`, \`frame-src \${list(csp.frameDomains, "'none'")}\`,
    \`object-src 'none'\`, \`base-uri \${list(csp.baseUriDomains, "'self'")}\`, \`form-action 'none'\`].join('; ');
}
try {
  const { tools } = await mcp('tools/list', {});
  const tool = tools.find((t) => t.name === setup.tool);
  const uri = getToolUiResourceUri(tool);
  const { contents } = await mcp('resources/read', { uri });
  const content = contents.find((c) => c.uri === uri);
  if (content.mimeType !== RESOURCE_MIME_TYPE) throw new Error('not an MCP App: ' + content.mimeType);
  state.csp = policy(content._meta?.ui?.csp);
  const meta = \`<meta http-equiv="Content-Security-Policy" content="\${state.csp}">\`;
  const html = content.text.replace(/<head>/i, (h) => h + meta);
  const iframe = document.createElement('iframe');
  iframe.id = 'view';
  iframe.title = 'AWS cost view';
  iframe.setAttribute('sandbox', 'allow-scripts');
  document.querySelector('main').append(iframe);
  const bridge = new AppBridge(null, { name: 'serverless-mcp test host', version: '1.0.0' },
    { serverTools: {}, logging: {} },
    { hostContext: (window.hostContext = { theme: setup.theme, locale: 'en-US', platform: 'web', displayMode: 'inline',
      availableDisplayModes: ['inline'], containerDimensions: { width: 760, maxHeight: 4000 }, toolInfo: { tool } }) });
  window.hostBridge = bridge;
  bridge.oncalltool = async (params) => {
    state.calls.push(params);
    try {
      return await mcp('tools/call', params);
    } finally {
      state.answered += 1;
    }
  };
  bridge.onsizechange = ({ width, height }) => {
    state.sizes.push({ width, height });
    if (height) iframe.style.height = height + 'px';
  };
  bridge.oninitialized = async () => {
    try {
      await bridge.sendToolInput({ arguments: setup.arguments });
      await bridge.sendToolResult(setup.result);
      state.resultSent = true;
    } catch (error) {
      state.error = String(error);
    }
  };
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  iframe.srcdoc = html;
} catch (error) {
  state.error = String(error && error.stack || error);
}
</script></body></html>`;
}

function hostServer() {
  const forwarded = []; // every JSON-RPC request the page sent serve through this backend
  let page = '';
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    try {
      if (req.method === 'GET' && url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(page);
      } else if (req.method === 'GET' && url.pathname.startsWith('/nm/')) {
        const rel = path.normalize(decodeURIComponent(url.pathname.slice(4)));
        const file = path.join(modules, rel);
        if (!servable.some((p) => rel.startsWith(`${p}/`)) || !file.startsWith(modules) || !existsSync(file)) {
          res.writeHead(404);
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(readFileSync(file));
      } else if (req.method === 'POST' && url.pathname === '/host/mcp') {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        const message = JSON.parse(Buffer.concat(chunks).toString());
        const answer = await mcp(message.method, message.params);
        forwarded.push({ method: message.method, params: message.params, answer });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...answer, id: message.id }));
      } else {
        res.writeHead(404);
        res.end();
      }
    } catch (error) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32603, message: String(error) } }));
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        server,
        forwarded,
        url: `http://127.0.0.1:${server.address().port}/`,
        setPage: (html) => {
          page = html;
        },
      }),
    ),
  );
}

// ---- Expected values, computed here from the same structured content ----
const usd = (v) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(v);
const isoDay = (d) => d.toISOString().slice(0, 10);
function monthsBack(months) {
  const now = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (months - 1), 1));
  return { start_date: isoDay(start), end_date: isoDay(now) };
}
function monthsAhead(months) {
  const now = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
  return isoDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 0)));
}
function seriesOf(structured) {
  const sums = new Map();
  for (const p of structured.periods) {
    for (const g of p.groups) sums.set(g.keys.join(' · '), (sums.get(g.keys.join(' · ')) ?? 0) + g.metrics.UnblendedCost.amount);
  }
  return [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name]) => name);
}
function amount(structured, period, series) {
  const g = structured.periods[period].groups.find((x) => x.keys.join(' · ') === series);
  return g ? g.metrics.UnblendedCost.amount : 0;
}

function watch(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console (${msg.location()?.url || 'page'}): ${msg.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

async function audit(frame, label) {
  await frame.evaluate(axeSource);
  const result = await frame.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }),
  );
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((node) => node.target.join(' ')).join(', ')}`),
    [],
    `${label}: serious accessibility violations`,
  );
}

// ---- The session ----
const host = await hostServer();
const browser = await chromium.launch({
  executablePath: env.CHROMIUM,
  headless: true,
  args: env.CI_NO_SANDBOX === '1' ? ['--no-sandbox'] : [],
});
try {
  let tools;
  let content;
  const args = { ...monthsBack(3), granularity: 'MONTHLY', metrics: ['UnblendedCost'], group_by: [{ dimension: 'SERVICE' }] };
  let first;

  await check('a token from serve (registration, consent and sign-in through our pages, PKCE, code exchange)', async () => {
    const { tokens } = await obtainTokens({ base, username: env.SMCP_USER, password: env.SMCP_PASSWORD });
    accessToken = tokens.access_token;
    assert.ok(accessToken);
    const init = await mcp('initialize', {
      protocolVersion: PROTOCOL,
      capabilities: { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: [MIME] } } },
      clientInfo: { name: 'app-view host', version: '1.0.0' },
    });
    assert.ok(init.result.capabilities.resources, `serve declares resources: ${JSON.stringify(init.result.capabilities)}`);
  });

  await check(`serve's series tools name the view (_meta.ui.resourceUri), resources/read returns it as ${MIME}`, async () => {
    tools = (await mcp('tools/list')).result.tools;
    for (const name of ['get_cost_and_usage', 'get_cost_forecast', 'get_usage_forecast']) {
      assert.equal(tools.find((t) => t.name === name)?._meta?.ui?.resourceUri, VIEW_URI, name);
    }
    content = (await mcp('resources/read', { uri: VIEW_URI })).result.contents[0];
    assert.equal(content.mimeType, MIME);
    assert.deepEqual(content._meta.ui.csp.connectDomains, []);
    assert.match(content.text, /^<!doctype html>/);
  });

  await check('get_cost_and_usage (last 3 months by SERVICE) answers structured content from serve', async () => {
    first = (await mcp('tools/call', { name: 'get_cost_and_usage', arguments: args })).result;
    assert.equal(first.isError ?? false, false, JSON.stringify(first).slice(0, 300));
    assert.equal(first.structuredContent.periods.length, 3);
    assert.ok(seriesOf(first.structuredContent).length >= 2, 'several services');
  });

  for (const theme of ['light', 'dark']) {
    stopped = false;
    const context = await browser.newContext({ viewport: { width: 820, height: 900 }, colorScheme: theme });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP blocked ${e.violatedDirective}: ${e.blockedURI}`);
      });
    });
    const page = await context.newPage();
    const problems = watch(page);
    host.setPage(hostPage({ theme, tool: 'get_cost_and_usage', arguments: args, result: first }));
    const before = host.forwarded.length;
    const view = page.frameLocator('iframe#view');
    let frame;
    const names = seriesOf(first.structuredContent);
    const drawn = names.length > 8 ? names.slice(0, 7) : names;
    const bars = (name) => view.locator(`svg rect.bar[data-series="${name.replaceAll('"', '\\"')}"]`);

    await check(`${theme}: the host page (official AppBridge) reads the view from serve and the view renders the tool result`, async () => {
      await page.goto(host.url);
      await page.waitForFunction(() => window.hostState && (window.hostState.resultSent || window.hostState.error));
      assert.equal(await page.evaluate(() => window.hostState.error), null);
      const sent = host.forwarded.slice(before).map((f) => f.method);
      assert.deepEqual(sent, ['tools/list', 'resources/read'], 'the page listed tools and read the resource through serve');
      await view.locator('svg rect.bar').first().waitFor();
      frame = await (await page.$('iframe#view')).contentFrame();
      assert.equal(await view.getByRole('heading', { level: 1 }).innerText(), 'Cost and usage');
      assert.equal(await page.locator('iframe#view').getAttribute('sandbox'), 'allow-scripts');
    });

    await check(`${theme}: every series has its marks, one bar per period, and a legend entry`, async () => {
      for (const name of drawn) {
        assert.equal(await bars(name).count(), 3, `bars of ${name}`);
        assert.equal(await view.getByRole('button', { name, exact: true }).getAttribute('aria-pressed'), 'true');
      }
      if (names.length > 8) assert.equal(await view.locator('svg rect.bar[data-series^="Other ("]').count(), 3);
    });

    await check(`${theme}: the view follows the host theme (background ${theme === 'dark' ? 'dark' : 'light'})`, async () => {
      const rgb = await frame.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = rgb.match(/\d+/g).map(Number);
      const light = (r + g + b) / 3 > 128;
      assert.equal(light, theme === 'light', rgb);
      assert.equal(await frame.evaluate(() => document.documentElement.dataset.theme), theme);
    });

    await check(`${theme}: a theme change from the host (ui/notifications/host-context-changed) restyles the view`, async () => {
      const other = theme === 'light' ? 'dark' : 'light';
      const switchTo = (t) => page.evaluate((t) => window.hostBridge.setHostContext({ ...window.hostContext, theme: t }), t);
      const background = () => frame.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const before = await background();
      await switchTo(other);
      await frame.waitForFunction((t) => document.documentElement.dataset.theme === t, other);
      assert.notEqual(await background(), before);
      await switchTo(theme);
      await frame.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
      assert.equal(await background(), before);
    });

    await check(`${theme}: the view reported its size (ui/notifications/size-changed) and the host sized the frame to it`, async () => {
      await page.waitForFunction(() => window.hostState.sizes.some((s) => s.height > 300));
      const last = await page.evaluate(() => window.hostState.sizes.at(-1));
      const box = await page.locator('iframe#view').boundingBox();
      assert.ok(Math.abs(box.height - 2 - last.height) <= 1, `frame ${box.height}px, reported ${last.height}px`);
    });

    await check(`${theme}: hovering a bar shows the period and the series' value`, async () => {
      const name = drawn[0];
      await bars(name).nth(1).hover();
      const tip = view.locator('#tip');
      await tip.waitFor({ state: 'visible' });
      const text = await tip.innerText();
      assert.ok(text.includes(name), text);
      assert.ok(text.includes(usd(amount(first.structuredContent, 1, name))), `${text} shows ${usd(amount(first.structuredContent, 1, name))}`);
    });

    await check(`${theme}: the chart is keyboard-usable (arrow keys show each period's values)`, async () => {
      await view.getByRole('heading', { level: 1 }).hover(); // the pointer leaves the chart
      await view.locator('#tip').waitFor({ state: 'hidden' });
      await view.locator('svg#chart').focus();
      await page.keyboard.press('ArrowRight');
      const text = await view.locator('#tip').innerText();
      assert.ok(text.includes(usd(amount(first.structuredContent, 0, drawn[0]))), text);
      await page.keyboard.press('Escape');
    });

    await check(`${theme}: toggling a legend entry hides that series' marks and shows them again`, async () => {
      const name = drawn[0];
      const toggle = view.getByRole('button', { name, exact: true });
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
      assert.equal(await bars(name).count(), 0, 'hidden');
      assert.equal(await bars(drawn[1]).count(), 3, 'the others stay');
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
      assert.equal(await bars(name).count(), 3, 'shown again');
    });

    await check(`${theme}: the table view lists every period with the numbers`, async () => {
      await view.getByRole('button', { name: 'Table view' }).click();
      const table = view.getByRole('table');
      await table.waitFor();
      assert.equal(await view.locator('svg#chart').isVisible(), false, 'the chart gives way');
      assert.equal(await table.locator('tbody tr').count(), 3);
      const header = await table.locator('thead th').allInnerTexts();
      const column = header.indexOf(drawn[0]);
      assert.ok(column > 0, header.join(' | '));
      for (let i = 0; i < 3; i += 1) {
        const cell = await table.locator('tbody tr').nth(i).locator('th, td').nth(column).innerText();
        assert.equal(cell, usd(amount(first.structuredContent, i, drawn[0])), `period ${i}`);
      }
      await audit(frame, `${theme} table`);
      await view.getByRole('button', { name: 'Table view' }).click();
      await view.locator('svg rect.bar').first().waitFor();
    });

    const answered = () => page.evaluate(() => window.hostState.answered);
    const lastCall = () => host.forwarded.filter((f) => f.method === 'tools/call').at(-1);

    await check(`${theme}: "Last 6 months" calls get_cost_and_usage through the host, serve answers, the view redraws 6 periods`, async () => {
      const calls = await answered();
      await view.getByRole('button', { name: 'Last 6 months' }).click();
      await page.waitForFunction((c) => window.hostState.answered > c, calls);
      const call = lastCall();
      assert.equal(call.params.name, 'get_cost_and_usage');
      assert.deepEqual(call.params.arguments, { ...args, ...monthsBack(6) }, 'the period changed, the rest kept');
      const answer = call.answer.result;
      assert.equal(answer.isError ?? false, false);
      assert.equal(answer.structuredContent.periods.length, 6);
      await bars(drawn[0]).nth(5).waitFor();
      assert.equal(await bars(drawn[0]).count(), 6);
      assert.equal(await view.getByRole('button', { name: 'Last 6 months' }).getAttribute('aria-pressed'), 'true');
      assert.equal(await view.getByRole('button', { name: 'Last 3 months' }).getAttribute('aria-pressed'), 'false');
      await bars(drawn[0]).nth(5).hover();
      assert.ok(seriesOf(answer.structuredContent).includes(drawn[0]));
      const tip = await view.locator('#tip').innerText();
      assert.ok(tip.includes(usd(amount(answer.structuredContent, 5, drawn[0]))), tip);
    });

    await check(`${theme}: Daily granularity calls the tool again and draws one bar per day`, async () => {
      const calls = await answered();
      await view.getByLabel('Granularity').selectOption('DAILY');
      await page.waitForFunction((c) => window.hostState.answered > c, calls);
      const call = lastCall();
      assert.deepEqual(call.params.arguments, { ...args, ...monthsBack(6), granularity: 'DAILY' });
      const days = call.answer.result.structuredContent.periods.length;
      assert.ok(days > 150, `${days} days`);
      await bars(drawn[0]).nth(days - 1).waitFor({ state: 'attached' });
      assert.equal(await bars(drawn[0]).count(), days);
    });

    await check(`${theme}: no serious accessibility violation in the view (axe-core)`, () => audit(frame, theme));

    await check(`${theme}: screenshot of the view`, async () => {
      const calls = await answered();
      await view.getByLabel('Granularity').selectOption('MONTHLY');
      await page.waitForFunction((c) => window.hostState.answered > c, calls);
      await view.locator('svg rect.bar[data-period="5"]').first().waitFor();
      assert.equal(await bars(drawn[0]).count(), 6);
      await bars(drawn[0]).nth(4).hover();
      await view.locator('#tip').waitFor({ state: 'visible' });
      await page.locator('iframe#view').screenshot({ path: `${screens}/app-view-${theme}.png` });
    });

    await check(`${theme}: no console error and no CSP violation in the host page or the view`, async () => {
      assert.deepEqual(problems, []);
    });

    await check(`${theme}: the CSP built from _meta.ui.csp is enforced (a probe request from the view is blocked and reported)`, async () => {
      const reported = page.waitForEvent('console', { predicate: (msg) => /CSP blocked img-src/.test(msg.text()) });
      await frame.evaluate(() => {
        const probe = new Image();
        probe.src = 'http://127.0.0.1:9/probe.png';
      });
      await reported;
    });
    await context.close();
  }

  // A forecast: the mean as bars, the prediction interval as whiskers; "Next 6 months" asks again.
  stopped = false;
  {
    const context = await browser.newContext({ viewport: { width: 820, height: 900 } });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP blocked ${e.violatedDirective}: ${e.blockedURI}`);
      });
    });
    const page = await context.newPage();
    const problems = watch(page);
    const view = page.frameLocator('iframe#view');
    const fargs = { end_date: monthsAhead(3), granularity: 'MONTHLY' };
    let forecast;
    const means = () => view.locator('svg rect.bar[data-series="Forecast"]');

    await check('get_cost_forecast (to the end of the third month) answers structured content from serve', async () => {
      forecast = (await mcp('tools/call', { name: 'get_cost_forecast', arguments: fargs })).result;
      assert.equal(forecast.isError ?? false, false, JSON.stringify(forecast).slice(0, 300));
      assert.ok(forecast.structuredContent.periods.length >= 3);
    });

    await check('forecast: the view draws the mean as bars and the interval as whiskers, with both on hover', async () => {
      host.setPage(hostPage({ theme: 'light', tool: 'get_cost_forecast', arguments: fargs, result: forecast }));
      await page.goto(host.url);
      await page.waitForFunction(() => window.hostState && (window.hostState.resultSent || window.hostState.error));
      assert.equal(await page.evaluate(() => window.hostState.error), null);
      await means().first().waitFor();
      assert.equal(await view.getByRole('heading', { level: 1 }).innerText(), 'Cost forecast');
      const periods = forecast.structuredContent.periods;
      assert.equal(await means().count(), periods.length);
      assert.equal(await view.locator('svg path[data-series="Prediction interval"]').count(), 1);
      await means().nth(1).hover();
      const tip = await view.locator('#tip').innerText();
      assert.ok(tip.includes(usd(periods[1].mean)), tip);
      assert.ok(tip.includes(`${usd(periods[1].lower_bound)} – ${usd(periods[1].upper_bound)}`), tip);
      assert.equal(await view.getByRole('button', { name: 'Next 3 months' }).getAttribute('aria-pressed'), 'true');
    });

    await check('forecast: "Next 6 months" calls get_cost_forecast through the host and redraws', async () => {
      const calls = await page.evaluate(() => window.hostState.answered);
      await view.getByRole('button', { name: 'Next 6 months' }).click();
      await page.waitForFunction((c) => window.hostState.answered > c, calls);
      const call = host.forwarded.filter((f) => f.method === 'tools/call').at(-1);
      assert.equal(call.params.name, 'get_cost_forecast');
      assert.deepEqual(call.params.arguments, { ...fargs, start_date: isoDay(new Date()), end_date: monthsAhead(6) });
      const periods = call.answer.result.structuredContent.periods;
      assert.ok(periods.length >= 6, `${periods.length} periods`);
      await means().nth(periods.length - 1).waitFor();
      assert.equal(await means().count(), periods.length);
      await means().nth(2).hover();
      await page.locator('iframe#view').screenshot({ path: `${screens}/app-view-forecast.png` });
    });

    await check('forecast: no serious accessibility violation, no console error, no CSP violation', async () => {
      await audit(await (await page.$('iframe#view')).contentFrame(), 'forecast');
      assert.deepEqual(problems, []);
    });

    await check('the view answers the host\'s ui/resource-teardown before it is removed', async () => {
      const answer = await page.evaluate(() => window.hostBridge.teardownResource({}));
      assert.deepEqual(answer, {});
    });
    await context.close();
  }

  // The view on Cost Explorer data (the AWS adapter against moto).
  stopped = false;
  {
    const awsBase = env.SMCP_AWS_HTTP?.replace(/\/$/, '');
    const endpoint = env.AWS_ENDPOINT_URL;
    const context = await browser.newContext({ viewport: { width: 820, height: 900 } });
    const page = await context.newPage();
    const problems = watch(page);
    const view = page.frameLocator('iframe#view');
    const { start_date: start } = monthsBack(3);
    const next = (iso) => {
      const d = new Date(`${iso}T00:00:00Z`);
      return isoDay(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)));
    };
    const tomorrow = isoDay(new Date(Date.now() + 86_400_000));
    const starts = [start, next(start), next(next(start))];
    const seeded = {
      'Amazon Elastic Compute Cloud - Compute': [410.25, 388.5, 402.75],
      'Amazon Simple Storage Service': [95.5, 101.25, 99.0],
      'AWS Lambda': [12.5, 14.75, 13.25],
    };
    let answer;

    await check('aws: a serve on Cost Explorer data (SMCP_COST_SOURCE=aws against moto) is configured for this run', () => {
      assert.ok(awsBase && env.SMCP_AWS_USER && env.SMCP_AWS_PASSWORD && endpoint, 'SMCP_AWS_HTTP, SMCP_AWS_USER, SMCP_AWS_PASSWORD and AWS_ENDPOINT_URL (tests/browser/run.sh sets them)');
    });

    await check('aws: get_cost_and_usage through the AWS adapter answers the seeded Cost Explorer result', async () => {
      const results = [{
        ResultsByTime: starts.map((s, i) => ({
          TimePeriod: { Start: s, End: i === 2 ? tomorrow : starts[i + 1] },
          Total: {},
          Groups: Object.entries(seeded).map(([service, amounts]) => ({
            Keys: [service],
            Metrics: { UnblendedCost: { Amount: String(amounts[i]), Unit: 'USD' } },
          })),
          Estimated: i === 2,
        })),
        GroupDefinitions: [{ Type: 'DIMENSION', Key: 'SERVICE' }],
        DimensionValueAttributes: [],
      }];
      const put = await fetch(`${endpoint}/moto-api/static/ce/cost-and-usage-results`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ account_id: '123456789012', results }),
      });
      assert.equal(put.status, 201, await put.text());
      const { tokens } = await obtainTokens({ base: awsBase, username: env.SMCP_AWS_USER, password: env.SMCP_AWS_PASSWORD });
      mcpUrl = `${awsBase}/mcp`;
      accessToken = tokens.access_token;
      answer = (await mcp('tools/call', { name: 'get_cost_and_usage', arguments: args })).result;
      assert.equal(answer.isError ?? false, false, JSON.stringify(answer).slice(0, 300));
      assert.equal(answer.structuredContent.periods.length, 3);
      assert.deepEqual([...seriesOf(answer.structuredContent)].sort(), Object.keys(seeded).sort());
    });

    await check('aws: the view draws every seeded service for each month and tabulates the exact amounts', async () => {
      host.setPage(hostPage({ theme: 'light', tool: 'get_cost_and_usage', arguments: args, result: answer }));
      await page.goto(host.url);
      await page.waitForFunction(() => window.hostState && (window.hostState.resultSent || window.hostState.error));
      assert.equal(await page.evaluate(() => window.hostState.error), null);
      await view.locator('svg rect.bar').first().waitFor();
      for (const name of Object.keys(seeded)) {
        assert.equal(await view.locator(`svg rect.bar[data-series="${name}"]`).count(), 3, name);
      }
      await view.getByRole('button', { name: 'Table view' }).click();
      const table = view.getByRole('table');
      await table.waitFor();
      const header = await table.locator('thead th').allInnerTexts();
      for (const [name, amounts] of Object.entries(seeded)) {
        const column = header.indexOf(name);
        assert.ok(column > 0, `${name} in ${header.join(' | ')}`);
        for (let i = 0; i < 3; i += 1) {
          const cell = await table.locator('tbody tr').nth(i).locator('th, td').nth(column).innerText();
          assert.equal(cell, usd(amounts[i]), `${name}, month ${i}`);
        }
      }
      await page.locator('iframe#view').screenshot({ path: `${screens}/app-view-aws.png` });
      assert.deepEqual(problems, []);
    });
    await context.close();
  }
} finally {
  await browser.close();
  host.server.close();
}
console.log(`1..${n}`);
if (failures > 0) {
  console.log(`# ${failures} failed`);
  process.exit(1);
}
