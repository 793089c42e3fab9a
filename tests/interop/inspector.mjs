// The MCP Inspector CLI against `serverless-mcp serve`: tools/list and tools/call with a bearer
// header holding a token obtained by the headless OAuth flow; and the refusal without one.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './lib/children.mjs';
import { obtainTokens } from './lib/oauth.mjs';
import { ok, step, done, target } from './lib/tap.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { base, username, password, mcp } = target();
const home = path.join(process.env.INTEROP_WORK ?? path.join(here, '..', '.work'), 'inspector-home');
mkdirSync(home, { recursive: true });
const cli = path.join(here, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');

/** Runs the Inspector CLI; resolves { code, stdout, stderr } (60 s cap). */
function inspector(args) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(process.execPath, [cli, '--cli', mcp, '--transport', 'http', ...args], {
        env: { ...process.env, HOME: home, MCP_CATALOG_PATH: path.join(home, 'mcp.json') },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const parse = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const { tokens } = await obtainTokens({ base, username, password });
const bearer = `Authorization: Bearer ${tokens.access_token}`;

const list = await inspector(['--method', 'tools/list', '--header', bearer]);
const listed = parse(list.stdout);
ok(list.code === 0, 'inspector --cli tools/list exits 0', list.stderr || list.stdout.slice(0, 500));
const names = (listed?.tools ?? []).map((t) => t.name);
ok(names.includes('get_cost_and_usage') && names.length >= 10, `tools/list shows the tools (${names.length})`, names);

const today = await inspector(['--method', 'tools/call', '--tool-name', 'get_today_date', '--header', bearer]);
const todayResult = parse(today.stdout);
ok(today.code === 0 && !todayResult?.isError, 'inspector --cli tools/call get_today_date exits 0', today.stderr || today.stdout.slice(0, 500));
const date = JSON.stringify(todayResult?.structuredContent ?? {}).match(/\d{4}-\d{2}-\d{2}/)?.[0];
ok(!!date, 'get_today_date structuredContent has a date', todayResult);

const start = `${(date ?? '2026-01-01').slice(0, 7)}-01`;
const dims = await inspector([
  '--method', 'tools/call', '--tool-name', 'get_dimension_values',
  '--tool-arg', 'dimension=SERVICE', `start_date=${start}`, `end_date=${date}`,
  '--header', bearer,
]);
const dimsResult = parse(dims.stdout);
ok(dims.code === 0 && dimsResult && !dimsResult.isError && dimsResult.structuredContent, 'inspector --cli tools/call get_dimension_values answers structuredContent', dims.stderr || dims.stdout.slice(0, 800));

await step('inspector without a bearer header fails (401)', async () => {
  const refused = await inspector(['--method', 'tools/list']);
  if (refused.code === 0) throw new Error(`expected a failure, got: ${refused.stdout.slice(0, 300)}`);
  if (!/401|unauthori[sz]ed|invalid_token|auth/i.test(refused.stdout + refused.stderr)) {
    throw new Error(`failure does not mention authorization: ${(refused.stderr || refused.stdout).slice(0, 500)}`);
  }
});

done('MCP Inspector CLI');
