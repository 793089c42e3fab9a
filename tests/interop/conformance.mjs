// The official conformance suite (@modelcontextprotocol/conformance):
//  - `authorization` against our authorization server, all its scenarios; the browser step of
//    authorization-code-grant is done by the headless browser (lib/browser.mjs);
//  - `server --requirements 2025-11-25` and `--requirements 2026-07-28` against the MCP server,
//    through a loopback proxy adding a valid bearer token (lib/proxy.mjs), with the known
//    not-applicable checks listed in conformance-baseline.yaml (reasons: CONFORMANCE.md).
// Prints a per-scenario table; exits non-zero on any unexpected failure or stale baseline entry.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { walkAuthorization } from './lib/browser.mjs';
import { track } from './lib/children.mjs';
import { obtainTokens, register } from './lib/oauth.mjs';
import { startProxy } from './lib/proxy.mjs';
import { ok, done, target } from './lib/tap.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { base, username, password, mcp } = target();
const work = path.join(process.env.INTEROP_WORK ?? path.join(here, '..', '.work'), 'conformance');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const suite = path.join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const baseline = path.join(here, 'conformance-baseline.yaml');

let running;

/** Runs the suite; `onLine` sees each stdout line. Resolves { code, output }. */
function conformance(args, { onLine, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [suite, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    track(child);
    running = child;
    let output = '';
    let pending = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) onLine?.(line);
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Results of one run: scenario → { pass, checks: [{id, status, message}] }. */
function results(dir, prefix) {
  const out = new Map();
  for (const entry of readdirSync(dir).sort()) {
    const scenario = entry.slice(prefix.length).replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    const checks = JSON.parse(readFileSync(path.join(dir, entry, 'checks.json'), 'utf8'));
    const bad = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
    out.set(scenario, {
      pass: bad.length === 0,
      successes: checks.filter((c) => c.status === 'SUCCESS').length,
      counts: `${checks.filter((c) => c.status === 'SUCCESS').length}/${checks.length}`,
      bad: bad.map((c) => `${c.id} ${c.status}${c.errorMessage ? `: ${c.errorMessage}` : ''}`),
    });
  }
  return out;
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const table = [];

// --- 1. authorization server ---
{
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/callback`;
  const { status, body: client } = await register(base, {
    client_name: 'conformance authorization suite',
    redirect_uris: [callback],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  ok(status === 201, 'registered a public client for the authorization suite', client);
  const dir = path.join(work, 'authorization');
  let walk;
  const run = await conformance(
    ['authorization', '--url', base, '--client-id', client.client_id, '--resource', mcp, '--port', String(port), '--output-dir', dir],
    {
      onLine: (line) => {
        if (line.startsWith(`${base}/authorize?`) && !walk) {
          // Walk the consent and login pages, then deliver the redirect to the suite's callback
          // server (it starts listening right after printing; retry briefly).
          walk = (async () => {
            const { url } = await walkAuthorization(line.trim(), { username, password, issuer: base });
            for (let attempt = 0; ; attempt++) {
              try {
                return await (await fetch(url)).text();
              } catch (error) {
                if (attempt > 50) throw error;
                await new Promise((r) => setTimeout(r, 100));
              }
            }
          })();
          // The suite would wait 5 minutes for a callback that is not coming: stop it.
          walk.catch(() => running?.kill('SIGTERM'));
        }
      },
    },
  );
  const walked = await walk?.then(() => true, (error) => error);
  ok(walked === true, 'headless browser completed the suite\'s authorization request', String(walked));
  ok(run.code === 0, 'conformance authorization exits 0', run.output.slice(-2000));
  const got = results(dir, 'authorization-server-');
  for (const scenario of ['authorization-server-metadata-endpoint', 'authorization-code-grant']) {
    const r = got.get(scenario);
    ok(r?.pass, `authorization: ${scenario}`, r?.bad ?? 'not run');
    table.push(['authorization', scenario, r ? (r.pass ? 'pass' : 'FAIL') : 'not run', r?.counts ?? '']);
  }
}

// --- 2. MCP server, through the token-adding proxy, for both requirement sets ---
const { tokens } = await obtainTokens({ base, username, password });
const proxy = await startProxy({ target: mcp, token: tokens.access_token });
try {
  for (const revision of ['2025-11-25', '2026-07-28']) {
    const dir = path.join(work, `server-${revision}`);
    const run = await conformance(['server', '--url', proxy.url, '--requirements', revision, '--expected-failures', baseline, '--output-dir', dir], { timeoutMs: 180_000 });
    const tail = run.output.slice(run.output.indexOf('=== SUMMARY ==='));
    ok(run.code === 0, `conformance server --requirements ${revision}: no unexpected failures, no stale baseline entries`, tail);
    for (const [scenario, r] of results(dir, 'server-')) {
      const verdict = !r.pass ? 'not applicable (baseline; see CONFORMANCE.md)' : r.successes ? 'pass' : 'nothing scored (skipped/info only)';
      table.push([`server ${revision}`, scenario, verdict, r.counts]);
    }
  }
} finally {
  await proxy.close();
}

console.log('# scenario table (suite | scenario | result | checks passed/total):');
for (const row of table) console.log(`# ${row.join(' | ')}`);
done('conformance');
