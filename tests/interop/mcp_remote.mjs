// `mcp-remote` as Claude Desktop runs it (`npx mcp-remote <url>` from claude_desktop_config.json,
// speaking MCP over stdio): it registers itself, sends the person to the authorization page and
// waits on its loopback callback. No display here, so its browser launch fails and it prints the
// URL for the person, as it does on a headless machine; the walk through consent and sign-in is
// the headless browser of lib/browser.mjs. Then Claude Desktop's side of stdio: initialize,
// tools/list, a tool call.
// A second start reuses the stored tokens without any browser step. The arguments are the
// README's Claude Desktop configuration, read from it, so the documented snippet cannot drift:
// `npx -y mcp-remote@<version> <url>` runs the pinned package (same version) with the same
// arguments, the URL pointed at this run's server.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { walkAuthorization } from './lib/browser.mjs';
import { track } from './lib/children.mjs';
import { ok, step, done, target } from './lib/tap.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { base, username, password, mcp } = target();
const work = path.join(process.env.INTEROP_WORK ?? path.join(here, '..', '.work'), 'mcp-remote');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const proxy = path.join(here, 'node_modules', 'mcp-remote', 'dist', 'proxy.js');

// The README's claude_desktop_config.json snippet: the JSON block after its marker comment.
const readme = readFileSync(path.join(here, '..', '..', 'README.md'), 'utf8');
const snippet = readme.split('<!-- claude-desktop-config')[1]?.match(/```json\n([\s\S]*?)```/)?.[1];
const documented = snippet && JSON.parse(snippet).mcpServers?.['aws-costs'];
const installed = JSON.parse(readFileSync(path.join(here, 'node_modules', 'mcp-remote', 'package.json'), 'utf8')).version;
const [npxYes, spec, documentedUrl, ...extraArgs] = documented?.args ?? [];
ok(
  documented?.command === 'npx' && npxYes === '-y' && spec === `mcp-remote@${installed}` && /^http:\/\/127\.0\.0\.1:8080\/mcp$/.test(documentedUrl),
  `the README's Claude Desktop config runs mcp-remote@${installed} (the version tested here) on serve's default URL`,
  documented,
);

/** One mcp-remote process on stdio, with a line-oriented JSON-RPC client. */
function start() {
  const child = track(
    spawn(process.execPath, [proxy, mcp, ...extraArgs], {
      env: {
        ...process.env,
        HOME: work,
        MCP_REMOTE_CONFIG_DIR: path.join(work, 'auth'),
        DISPLAY: '',
        WAYLAND_DISPLAY: '',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  let buffer = '';
  const waiting = new Map();
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdout.on('data', (d) => {
    buffer += d;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line) continue;
      const message = JSON.parse(line);
      if (message.id !== undefined && waiting.has(message.id)) {
        waiting.get(message.id)(message);
        waiting.delete(message.id);
      }
    }
  });
  let next = 1;
  const send = (method, params, timeoutMs = 60_000) => {
    const id = next++;
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in ${timeoutMs} ms; stderr:\n${stderr.slice(-3000)}`)), timeoutMs);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  };
  const notify = (method, params) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  // Resolves with the first match of `pattern` in mcp-remote's stderr (polled: it is small).
  const until = (pattern, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const poll = () => {
        const match = stderr.match(pattern);
        if (match) return resolve(match);
        if (Date.now() - started > timeoutMs) return reject(new Error(`no ${pattern} in ${timeoutMs} ms; stderr:\n${stderr.slice(-3000)}`));
        setTimeout(poll, 50);
      };
      poll();
    });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on('close', resolve);
      child.kill('SIGTERM');
    });
  return { child, send, notify, until, stop, stderr: () => stderr };
}

async function session(client) {
  const init = await client.send('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'claude-ai', version: '0.1.0' },
  });
  if (init.error) throw new Error(`initialize: ${JSON.stringify(init.error)}`);
  client.notify('notifications/initialized', {});
  const list = await client.send('tools/list', {});
  if (list.error) throw new Error(`tools/list: ${JSON.stringify(list.error)}`);
  return { init, tools: list.result.tools };
}

// First start: the OAuth dance, driven the way a person would.
const first = start();
const url = await step('mcp-remote asks the person to authorize at our /authorize', async () => {
  const found = new URL((await first.until(/Please authorize this client by visiting:\s*(\S+)/))[1]);
  if (found.origin !== new URL(base).origin || found.pathname !== '/authorize') throw new Error(`unexpected URL ${found}`);
  for (const name of ['client_id', 'redirect_uri', 'code_challenge', 'state', 'resource']) {
    if (!found.searchParams.get(name)) throw new Error(`the authorization URL lacks ${name}: ${found}`);
  }
  return found;
});
if (url) {
  await step('consent and sign-in complete; mcp-remote receives the code on its loopback callback', async () => {
    // Its callback listener starts after it prints the URL.
    await first.until(/Waiting for authorization/);
    const { url: callback } = await walkAuthorization(url, { username, password, issuer: base });
    if (!['127.0.0.1', 'localhost'].includes(callback.hostname)) throw new Error(`redirect to ${callback}`);
    if (!callback.searchParams.get('code')) throw new Error(`no code in ${callback}`);
    const answer = await fetch(callback);
    if (!answer.ok) throw new Error(`mcp-remote's callback answered ${answer.status}`);
  });
}
const result = await step('initialize and tools/list through mcp-remote', () => session(first));
// The README's tool table ("What the server offers") names exactly the tools served.
const offered = readme.split('## What the server offers')[1]?.split('\n## ')[0] ?? '';
// Every tool the section names (the charts table after the tool table names some again).
const documentedTools = [...new Set([...offered.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]))].sort();
const servedTools = (result?.tools ?? []).map((t) => t.name).sort();
ok(
  servedTools.length > 0 && JSON.stringify(servedTools) === JSON.stringify(documentedTools),
  "every tool is listed, and the README's tool table names exactly these",
  { served: servedTools, documented: documentedTools },
);
const call = await step('tools/call get_today_date through mcp-remote', async () => {
  const answer = await first.send('tools/call', { name: 'get_today_date', arguments: {} });
  if (answer.error) throw new Error(JSON.stringify(answer.error));
  return answer.result;
});
ok(call && !call.isError && /\d{4}-\d{2}-\d{2}/.test(JSON.stringify(call.content)), 'the tool answers with a date', call);
await first.stop();

// Second start, as when Claude Desktop restarts: the stored tokens are used, no browser.
const second = start();
const again = await step('a restarted mcp-remote lists tools with its stored tokens', () => session(second));
ok(again?.tools?.length === result?.tools?.length, 'the same tools after a restart');
ok(!/Please authorize/.test(second.stderr()), 'no second browser step', second.stderr().slice(-2000));
await second.stop();
done('mcp-remote');
