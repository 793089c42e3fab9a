// The official conformance suite (`conformance server`, requirement sets 2025-11-25 and
// 2026-07-28, active, pending and extension scenarios alike) against the conformance fixture
// server behind our bearer layer: examples/conformance-fixture's `conformance-fixture-protected`
// (FixtureServer on mcp-host, sessions in memory, SSE answers), with a real access token from our
// authorization server run as `serverless-mcp serve --no-mcp --resource <fixture URL>`, injected
// by lib/proxy.mjs. Also checks the bearer layer itself (401 with the RFC 9728 challenge without a
// token; the fixture's metadata names our issuer) and that progress notifications reach the
// client as SSE events as they are sent, not buffered to the end: `test_tool_with_progress`
// sends progress 0, 50 and 100 with 50 ms between them, then its result 150 ms after the first;
// the first event must arrive at least MIN_SPREAD_MS before the result, in an earlier read (a
// buffered answer comes in one read, all events at once). The Lambda emulator sometimes hands
// two events over in one read, so the reads are not required to be one per event.
//
// Two modes:
//  - local (tests/run.sh, run_interop): starts `$SMCP_BIN serve --no-mcp` and
//    `$SMCP_FIXTURE_PROTECTED_BIN` (default: conformance-fixture-protected beside
//    $SMCP_FIXTURE_BIN) on free loopback ports, and stops both (SIGTERM; they must exit 0);
//  - external (tests/lambda/e2e.py): FIXTURE_URL names a protected fixture already running (under
//    `cargo lambda watch`), SMCP_BASE / SMCP_USER / SMCP_PASSWORD its authorization server;
//    FIXTURE_BASELINE may name another expected-failures file (default fixture-baseline.yaml).
// Prints a per-scenario table and the streaming timings; exits non-zero on any failure.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './lib/children.mjs';
import { obtainTokens } from './lib/oauth.mjs';
import { startProxy } from './lib/proxy.mjs';
import { conformance, results, stop } from './lib/suite.mjs';
import { ok, done, step } from './lib/tap.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const suite = path.join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const baseline = path.resolve(here, process.env.FIXTURE_BASELINE ?? 'fixture-baseline.yaml');
const work = path.join(process.env.INTEROP_WORK ?? path.join(here, '..', '.work', 'interop'), process.env.FIXTURE_WORK_NAME ?? 'fixture-protected');
const label = process.env.FIXTURE_LABEL ?? 'fixture_protected';
/** The tool spaces its three progress notifications 50 ms apart, then answers 50 ms later. */
const MIN_SPREAD_MS = 40;

const external = process.env.FIXTURE_URL;
const fail = (message) => {
  console.error(message);
  process.exit(2);
};
if (!existsSync(suite)) {
  // Never a silent skip: under CI the missing suite fails the run; by hand it is a loud TAP skip.
  const why = `the conformance suite is not installed (${suite}); run npm ci --ignore-scripts in tests/interop`;
  if (process.env.CI === 'true') {
    ok(false, 'conformance suite installed', why);
    done(label);
    process.exit();
  }
  console.log(`ok 1 - conformance suite installed # SKIP ${why}`);
  console.log('1..1');
  process.exit(0);
}
let smcpBin;
let fixtureBin;
if (external) {
  if (!process.env.SMCP_BASE || !process.env.SMCP_USER || !process.env.SMCP_PASSWORD) fail('with FIXTURE_URL, SMCP_BASE, SMCP_USER and SMCP_PASSWORD must be set');
} else {
  smcpBin = process.env.SMCP_BIN;
  fixtureBin = process.env.SMCP_FIXTURE_PROTECTED_BIN ?? (process.env.SMCP_FIXTURE_BIN && path.join(path.dirname(process.env.SMCP_FIXTURE_BIN), 'conformance-fixture-protected'));
  if (!smcpBin || !existsSync(smcpBin)) fail(`SMCP_BIN must name the built serverless-mcp binary (got ${JSON.stringify(smcpBin ?? null)})`);
  if (!fixtureBin || !existsSync(fixtureBin)) {
    fail(`SMCP_FIXTURE_PROTECTED_BIN (or SMCP_FIXTURE_BIN beside it) must name the built conformance-fixture-protected binary (got ${JSON.stringify(fixtureBin ?? null)}); build it with cargo build --locked -p conformance-fixture`);
  }
}
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Starts `argv` and resolves { child, match, output } once a stdout line matches `pattern`. */
function startUntil(name, argv, env, pattern) {
  const child = track(spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${stdout}${stderr}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = pattern.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ name, child, match, output: () => stdout + stderr });
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal}):\n${stdout}${stderr}`));
    });
  });
}

const rpcHeaders = (token, session) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...(session ? { 'mcp-session-id': session } : {}),
});

/** The bearer layer in front of the fixture: 401 with the RFC 9728 challenge, the metadata. */
async function checkChallenge(url, issuer) {
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: label, version: '1' } } };
  const denied = await fetch(url, { method: 'POST', headers: rpcHeaders(), body: JSON.stringify(init) });
  const challenge = denied.headers.get('www-authenticate') ?? '';
  const u = new URL(url);
  const prmUrl = `${u.origin}/.well-known/oauth-protected-resource${u.pathname}`;
  ok(denied.status === 401 && challenge.includes(`resource_metadata="${prmUrl}"`) && challenge.includes('scope="costs:read"'), 'POST without a token: 401 naming the fixture\'s metadata and base scope', { status: denied.status, challenge });
  const get = await fetch(url, { headers: { accept: 'text/event-stream' } });
  ok(get.status === 401, 'GET (the session stream) without a token: 401 too', { status: get.status });
  const prm = await (await fetch(prmUrl)).json();
  ok(prm.resource === url && prm.authorization_servers?.[0] === issuer && prm.scopes_supported?.includes('costs:read'), 'the fixture\'s protected-resource metadata names itself, our issuer and costs:read', prm);
}

/**
 * Calls test_tool_with_progress in a 2025-11-25 session and reads the SSE answer as it comes:
 * every event with the time its read completed (ms since the request was sent).
 */
async function progressTimings(url, token) {
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: label, version: '1' } } };
  const opened = await fetch(url, { method: 'POST', headers: rpcHeaders(token), body: JSON.stringify(init) });
  const session = opened.headers.get('mcp-session-id');
  await opened.text();
  if (opened.status !== 200 || !session) throw new Error(`initialize: HTTP ${opened.status}, session ${session}`);
  const notified = await fetch(url, { method: 'POST', headers: rpcHeaders(token, session), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await notified.text();
  const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'stream-check' } } };
  const sent = performance.now();
  const answer = await fetch(url, { method: 'POST', headers: { ...rpcHeaders(token, session), accept: 'text/event-stream, application/json' }, body: JSON.stringify(call) });
  const kind = answer.headers.get('content-type') ?? '';
  if (answer.status !== 200 || !kind.startsWith('text/event-stream')) throw new Error(`tools/call: HTTP ${answer.status}, ${kind}`);
  const events = [];
  const decoder = new TextDecoder();
  let buffer = '';
  let reads = 0;
  const reader = answer.body.getReader();
  for (;;) {
    const { value, done: finished } = await reader.read();
    if (finished) break;
    reads += 1;
    const at = performance.now() - sent;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      if (!data) continue;
      const message = JSON.parse(data);
      events.push({ at, read: reads, method: message.method ?? (message.id === 2 ? 'result' : 'other'), progress: message.params?.progress });
      if (message.id === 2) await reader.cancel();
    }
  }
  await fetch(url, { method: 'DELETE', headers: rpcHeaders(token, session) }).then((r) => r.text()).catch(() => {});
  return { events, transferEncoding: answer.headers.get('transfer-encoding'), mode: answer.headers.get('lambda-runtime-function-response-mode') };
}

const table = [];
const started = [];
try {
  let base = process.env.SMCP_BASE;
  let username = process.env.SMCP_USER;
  let password = process.env.SMCP_PASSWORD;
  let url = external;
  if (!external) {
    const [asPort, fixturePort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${fixturePort}/mcp`;
    const data = path.join(work, 'data');
    const as = await startUntil('serve --no-mcp', [smcpBin, 'serve', '--addr', `127.0.0.1:${asPort}`, '--data-dir', data, '--no-mcp', '--resource', url], {}, /^login: username=(\S+) password=(.*)$/m);
    started.push(as);
    base = `http://127.0.0.1:${asPort}`;
    [, username, password] = as.match;
    ok(as.output().includes(`for the MCP server at ${url}`), `serve --no-mcp: authorization server at ${base} for ${url}`, as.output());
    // The fixture shares the authorization server's data dir, so it sees its revocations.
    const fixture = await startUntil(
      'conformance-fixture-protected',
      [fixtureBin],
      { SMCP_ADDR: `127.0.0.1:${fixturePort}`, SMCP_ISSUER: base, SMCP_RESOURCE: url, SMCP_DATA_DIR: data, RUST_LOG: 'warn' },
      /MCP server URL: (\S+)/,
    );
    started.push(fixture);
    ok(fixture.match[1] === url, `protected fixture listening at ${url}`, fixture.output());
  }

  await step('the bearer layer in front of the fixture', () => checkChallenge(url, base));
  const { tokens } = await obtainTokens({ base, username, password, resource: url });
  ok(!!tokens.access_token, `access token for ${url} from the OAuth flow (scope ${tokens.scope})`);

  const timings = await step('test_tool_with_progress answered as SSE', () => progressTimings(url, tokens.access_token));
  if (timings) {
    const { events } = timings;
    const progress = events.filter((e) => e.method === 'notifications/progress');
    const result = events.find((e) => e.method === 'result');
    const spread = result && progress.length ? result.at - progress[0].at : 0;
    const reads = new Set(events.map((e) => e.read)).size;
    console.log(`# streaming: ${events.map((e) => `${e.method}${e.progress !== undefined ? `(${e.progress})` : ''} @ ${e.at.toFixed(1)} ms [read ${e.read}]`).join(', ')}; transfer-encoding ${timings.transferEncoding ?? '-'}, lambda mode ${timings.mode ?? '-'}`);
    ok(progress.length === 3 && !!result, 'three progress events, then the result', events);
    ok(spread >= MIN_SPREAD_MS, `the first progress event arrived ${spread.toFixed(1)} ms before the result (>= ${MIN_SPREAD_MS} ms: streamed, not buffered)`, events);
    ok(reads >= 2 && result && progress.length && result.read > progress[0].read, `the first progress event and the result came in different reads (${reads} reads for ${events.length} events)`, events);
  }

  const proxy = await startProxy({ target: url, token: tokens.access_token });
  try {
    for (const revision of ['2025-11-25', '2026-07-28']) {
      const dir = path.join(work, `server-${revision}`);
      const run = await conformance(proxy.url, revision, dir, baseline);
      const summary = run.output.slice(run.output.indexOf('=== SUMMARY ==='));
      ok(run.code === 0, `conformance server --requirements ${revision} (through the bearer layer): no unexpected failures, no stale baseline entries`, summary);
      const got = existsSync(dir) ? results(dir) : new Map();
      ok(got.size > 0, `conformance server --requirements ${revision} ran scenarios`, run.output.slice(-2000));
      for (const [scenario, r] of got) table.push([revision, scenario, r.verdict, r.counts, r.bad.join(', ')]);
    }
  } finally {
    await proxy.close();
  }
} catch (error) {
  ok(false, `${label} run`, error?.stack ?? String(error));
} finally {
  for (const s of started.reverse()) {
    const code = await stop(s.child);
    ok(code === 0, `${s.name} stops cleanly on SIGTERM`, `exit code ${code}\n${s.output().slice(-2000)}`);
  }
}

console.log('# scenario table (requirement set | scenario | result | checks passed/total | non-passing checks):');
for (const row of table) console.log(`# ${row.join(' | ')}`);
done(label);
// A remote fixture may hold a socket open after everything is closed (an emulator finishing an
// SSE invocation); the verdict is printed, so do not wait on it.
setTimeout(() => process.exit(), 5_000).unref();
