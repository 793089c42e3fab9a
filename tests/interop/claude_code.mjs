// Claude Code (the real CLI, `@anthropic-ai/claude-code` from npm, its native Linux build) as the
// README tells a person to connect it: `claude mcp add --transport http aws-costs <url>` (the
// README's line, read from it), `claude mcp login aws-costs` (in a pseudo-terminal, as a person
// runs it; the browser step is the headless walk of lib/browser.mjs), `claude mcp list` showing
// the server connected, and then a tool call made by Claude Code itself: `claude -p` with the
// model answered by a stand-in Messages API on loopback (Anthropic's service is out of reach
// here), which asks for `get_today_date`; Claude Code calls it over MCP with its OAuth token and
// the stand-in checks the tool result it is sent back.
//
// Twice, once for each way Claude Code identifies itself:
// - Client ID Metadata Document (what it does whenever the server advertises support, so what a
//   person with `serve` on its defaults gets): its client_id is
//   https://claude.ai/oauth/claude-code-client-metadata. With no internet here, that document is
//   served from loopback with the test CA (serve: SMCP_CIMD_TEST_CA + SMCP_CIMD_TEST_RESOLVE),
//   its content as Claude Code publishes it (redirect URIs without a port; Claude Code then
//   listens on an ephemeral port, RFC 8252 §7.3).
// - Dynamic client registration (SMCP_CIMD_HOSTS=none: support not advertised).
//
// Needs: SMCP_BIN (the serverless-mcp binary), INTEROP_WORK (with cimd_certs.py's files),
// `script` (util-linux) for the pseudo-terminal.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { walkAuthorization } from './lib/browser.mjs';
import { track } from './lib/children.mjs';
import { ok, step, done } from './lib/tap.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.SMCP_BIN;
const interopWork = process.env.INTEROP_WORK;
if (!bin || !interopWork) {
  console.error('SMCP_BIN and INTEROP_WORK must be set (tests/run.sh sets them)');
  process.exit(2);
}
const platform = { x64: 'linux-x64', arm64: 'linux-arm64' }[process.arch];
const claude = path.join(here, 'node_modules', '@anthropic-ai', `claude-code-${platform}`, 'claude');
const installed = JSON.parse(readFileSync(path.join(here, 'node_modules', '@anthropic-ai', 'claude-code', 'package.json'), 'utf8')).version;
if (spawnSync('script', ['--version']).status !== 0) {
  console.error('claude_code: `script` (util-linux) is required for the pseudo-terminal');
  process.exit(2);
}
const work = path.join(interopWork, 'claude-code');
rmSync(work, { recursive: true, force: true });
const readme = readFileSync(path.join(here, '..', '..', 'README.md'), 'utf8');
// The README's Claude Code command, as a person copies it.
const documented = readme.split('\n').find((line) => line.startsWith('claude mcp add '));
ok(
  documented === 'claude mcp add --transport http aws-costs http://127.0.0.1:8080/mcp',
  "the README's Claude Code line adds serve's default URL over HTTP",
  documented,
);
const offered = readme.split('## What the server offers')[1]?.split('\n## ')[0] ?? '';
// Every tool the section names (the charts table after the tool table names some again).
const documentedTools = [...new Set([...offered.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]))].sort();

// Claude Code's Client ID Metadata Document, as published at its URL (fields as reported
// publicly; the redirect URIs carry no port).
const CLAUDE_CODE_CIMD = 'https://claude.ai/oauth/claude-code-client-metadata';
const claudeCodeDocument = {
  client_id: CLAUDE_CODE_CIMD,
  client_name: 'Claude Code',
  redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
};

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const plain = (text) => text.replace(/\x1b\][^\x07]*\x07/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

/** Starts `serve` on a free port with a fresh data dir; resolves with its URLs and login. */
async function startServe(label, env) {
  const port = await freePort();
  const data = path.join(work, label, 'data');
  let out = '';
  let err = '';
  const child = track(
    spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', data], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  for (let i = 0; i < 600 && !/^login: /m.test(out); i++) {
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  const login = out.match(/^login: username=(\S+) password=(\S+)$/m);
  if (!login) throw new Error(`serve did not start:\n${out}\n${err.slice(-2000)}`);
  const base = `http://127.0.0.1:${port}`;
  return { base, mcp: `${base}/mcp`, username: login[1], password: login[2], out: () => out, child };
}

const stop = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('close', resolve);
    child.kill('SIGTERM');
  });

/** Runs `claude` with `args` in the label's home and project folder. */
function run(label, args, env = {}) {
  const home = path.join(work, label, 'home');
  const project = path.join(work, label, 'project');
  mkdirSync(home, { recursive: true });
  mkdirSync(project, { recursive: true });
  const result = spawnSync(claude, args, {
    cwd: project,
    env: { PATH: process.env.PATH, HOME: home, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', ...env },
    encoding: 'utf8',
    timeout: 120_000,
    input: '',
  });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** `run`, without blocking this process (whose stand-in model must answer meanwhile). */
function runAsync(label, args, env = {}) {
  const child = track(
    spawn(claude, args, {
      cwd: path.join(work, label, 'project'),
      env: { PATH: process.env.PATH, HOME: path.join(work, label, 'home'), CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), 120_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    }),
  );
}

/** `claude mcp login aws-costs` in a pseudo-terminal; resolves with the authorization URL and a wait for its end. */
function login(label) {
  const home = path.join(work, label, 'home');
  const project = path.join(work, label, 'project');
  const child = track(
    spawn('script', ['-qfec', `'${claude}' mcp login aws-costs`, '/dev/null'], {
      cwd: project,
      env: {
        PATH: process.env.PATH,
        HOME: home,
        TERM: 'dumb',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        // No display: the URL is printed for the person, as on a machine without a browser.
        BROWSER: '/bin/true',
        DISPLAY: '',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const ended = new Promise((resolve) => child.on('close', (code) => resolve({ code, output: plain(out) })));
  const url = (async () => {
    for (let i = 0; i < 1200; i++) {
      const found = plain(out).match(/(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/);
      if (found) return new URL(found[1]);
      if (child.exitCode !== null) break;
      await sleep(50);
    }
    child.kill('SIGTERM');
    throw new Error(`claude mcp login printed no authorization URL:\n${plain(out).slice(-2000)}`);
  })();
  return { url, ended };
}

/** A stand-in for the Messages API: asks for get_today_date, then ends the turn; keeps every request body. */
async function startModel() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url.startsWith('/v1/messages')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end('{"type":"error","error":{"type":"not_found_error","message":"not here"}}');
      }
      let parsed = {};
      try {
        parsed = JSON.parse(body);
      } catch {
        res.writeHead(400);
        return res.end();
      }
      requests.push(parsed);
      const sentResult = JSON.stringify(parsed.messages ?? []).includes('"tool_result"');
      const offersTool = (parsed.tools ?? []).some((t) => t.name === 'mcp__aws-costs__get_today_date');
      const block = offersTool && !sentResult
        ? { type: 'tool_use', id: 'toolu_today', name: 'mcp__aws-costs__get_today_date', input: {} }
        : { type: 'text', text: '' };
      const delta = block.type === 'tool_use'
        ? { type: 'input_json_delta', partial_json: '{}' }
        : { type: 'text_delta', text: 'done' };
      const events = [
        ['message_start', { type: 'message_start', message: { id: `msg_${requests.length}`, type: 'message', role: 'assistant', model: parsed.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } }],
        ['content_block_start', { type: 'content_block_start', index: 0, content_block: block }],
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta }],
        ['content_block_stop', { type: 'content_block_stop', index: 0 }],
        ['message_delta', { type: 'message_delta', delta: { stop_reason: block.type === 'tool_use' ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: 1 } }],
        ['message_stop', { type: 'message_stop' }],
      ];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const [event, data] of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => new Promise((r) => server.close(r)) };
}

/** The whole of what a person does, against one running serve; `identity` checks the client_id. */
async function connect(label, server, identity) {
  const timings = {};
  let t0 = Date.now();
  // The README's words after `claude`, the URL pointed at this run's server.
  const addArgs = documented.split(' ').slice(1, -1);
  const added = run(label, [...addArgs, server.mcp]);
  ok(added.status === 0 && /Added HTTP MCP server aws-costs/.test(added.output), `${label}: claude mcp add (the README's line)`, added.output);
  const before = run(label, ['mcp', 'list']);
  ok(/aws-costs: .*Needs authentication/.test(before.output), `${label}: before signing in, claude mcp list says it needs authentication`, before.output);

  const session = login(label);
  const url = await step(`${label}: claude mcp login prints our /authorize URL with PKCE and the resource`, async () => {
    const found = await session.url;
    if (found.origin !== server.base || found.pathname !== '/authorize') throw new Error(`unexpected URL ${found}`);
    for (const name of ['code_challenge', 'state', 'resource', 'redirect_uri']) {
      if (!found.searchParams.get(name)) throw new Error(`no ${name} in ${found}`);
    }
    if (found.searchParams.get('resource') !== server.mcp) throw new Error(`resource ${found.searchParams.get('resource')}`);
    identity(found.searchParams.get('client_id'));
    return found;
  });
  if (url) {
    await step(`${label}: consent and sign-in in the browser; Claude Code's loopback callback takes the code`, async () => {
      const { url: callback } = await walkAuthorization(url, { username: server.username, password: server.password, issuer: server.base });
      if (!callback.searchParams.get('code')) throw new Error(`no code in ${callback}`);
      if (callback.searchParams.get('iss') !== server.base) throw new Error(`iss ${callback.searchParams.get('iss')}`);
      const answer = await fetch(callback);
      if (!answer.ok) throw new Error(`Claude Code's callback answered ${answer.status}`);
    });
  }
  let timer;
  const ended = await Promise.race([
    session.ended,
    new Promise((resolve) => {
      timer = setTimeout(() => resolve({ code: 'timeout', output: '' }), 60_000);
    }),
  ]);
  clearTimeout(timer);
  ok(ended.code === 0 && /Authenticated with "aws-costs"/.test(ended.output), `${label}: claude mcp login ends authenticated (it exchanged the code at /token)`, ended.output.slice(-2000));
  timings.connect = Date.now() - t0;

  const after = run(label, ['mcp', 'list']);
  ok(/aws-costs: .*Connected/.test(after.output), `${label}: claude mcp list shows aws-costs connected`, after.output);

  t0 = Date.now();
  const model = await startModel();
  const answer = await runAsync(
    label,
    ['-p', "What is today's date?", '--allowedTools', 'mcp__aws-costs__get_today_date', '--output-format', 'json'],
    // MCP tools in the first request (not behind tool search), so the stand-in can pick one.
    { ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key', ANTHROPIC_BASE_URL: model.url, ENABLE_TOOL_SEARCH: 'false' },
  );
  await model.close();
  timings.toolCall = Date.now() - t0;
  const offeredTools = (model.requests[0]?.tools ?? [])
    .map((t) => t.name)
    .filter((name) => name.startsWith('mcp__aws-costs__'))
    .map((name) => name.slice('mcp__aws-costs__'.length))
    .sort();
  ok(
    offeredTools.length > 0 && JSON.stringify(offeredTools) === JSON.stringify(documentedTools),
    `${label}: Claude Code offers the model every tool the README lists (it listed them with its token)`,
    { offered: offeredTools, documented: documentedTools },
  );
  const results = model.requests
    .flatMap((r) => r.messages ?? [])
    .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
    .filter((c) => c.type === 'tool_result' && c.tool_use_id === 'toolu_today');
  const text = JSON.stringify(results[0]?.content ?? '');
  const today = new Date().toISOString().slice(0, 10);
  ok(
    results.length === 1 && !results[0].is_error && text.includes(`\\"today\\":\\"${today}\\"`),
    `${label}: Claude Code called get_today_date over MCP and handed the model its answer (today ${today})`,
    { results, output: answer.output.slice(-1500) },
  );
  let final;
  try {
    final = JSON.parse(answer.output.trim().split('\n').pop());
  } catch {
    final = undefined;
  }
  ok(answer.status === 0 && final?.result === 'done' && final?.is_error === false, `${label}: claude -p finishes the turn`, answer.output.slice(-1500));
  console.log(`# ${label}: mcp add + login (consent, sign-in) took ${timings.connect} ms; claude -p with the tool call took ${timings.toolCall} ms`);
}

console.log(`# Claude Code ${installed} (${claude})`);
ok(run('version', ['--version']).output.includes(installed), `claude --version is ${installed}`);

// 1. Client ID Metadata Document: serve on its defaults, with claude.ai's document served here.
const certs = {
  cert: readFileSync(path.join(interopWork, 'cimd-localhost.pem')),
  key: readFileSync(path.join(interopWork, 'cimd-localhost-key.pem')),
};
const fetched = [];
const documents = https.createServer(certs, (req, res) => {
  fetched.push(`${req.method} ${req.headers.host} ${req.url}`);
  if (req.url !== new URL(CLAUDE_CODE_CIMD).pathname) {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
  res.end(JSON.stringify(claudeCodeDocument));
});
await new Promise((resolve) => documents.listen(0, '127.0.0.1', resolve));
const cimd = await step('serve starts with the test CA and claude.ai resolved to the document server', () =>
  startServe('cimd', {
    SMCP_CIMD_TEST_CA: path.join(interopWork, 'cimd-ca.pem'),
    SMCP_CIMD_TEST_RESOLVE: `claude.ai=127.0.0.1:${documents.address().port}`,
  }),
);
if (cimd) {
  ok(/^warning: SMCP_CIMD_TEST_RESOLVE: .*claude\.ai/m.test(cimd.out()), 'serve warns that claude.ai is resolved for testing', cimd.out());
  await connect('cimd', cimd, (clientId) => {
    if (clientId !== CLAUDE_CODE_CIMD) throw new Error(`client_id ${clientId}, expected its metadata document URL`);
  });
  ok(fetched.some((f) => f.startsWith('GET claude.ai /oauth/claude-code-client-metadata')), 'serve fetched Claude Code\'s document from https://claude.ai', fetched);
  const listed = spawnSync(bin, ['admin', 'clients', 'list', '--kind', 'cimd', '--json', '--data-dir', path.join(work, 'cimd', 'data')], { encoding: 'utf8' });
  ok(listed.status === 0 && listed.stdout.includes(CLAUDE_CODE_CIMD) && listed.stdout.includes('Claude Code'), 'the admin CLI lists Claude Code as a metadata-document client', listed.stdout + listed.stderr);
  await stop(cimd.child);
}
await new Promise((resolve) => documents.close(resolve));

// 2. Dynamic client registration: metadata documents turned off, so not advertised.
const dcr = await step('serve starts with SMCP_CIMD_HOSTS=none', () => startServe('dcr', { SMCP_CIMD_HOSTS: 'none' }));
if (dcr) {
  await connect('dcr', dcr, (clientId) => {
    if (!clientId || clientId.includes(':')) throw new Error(`client_id ${clientId}, expected a registered one`);
  });
  await stop(dcr.child);
}
done('claude_code');
