// The official conformance suite (`conformance server`) against our conformance fixture server
// (examples/conformance-fixture: the suite's fixture tools, prompts and resources as an rmcp
// ServerHandler), for both requirement sets, 2025-11-25 and 2026-07-28, with the known
// non-passing checks in fixture-baseline.yaml (reasons: CONFORMANCE.md).
//
// Builds nothing: SMCP_FIXTURE_BIN names the built binary (tests/run.sh builds it). Starts it on
// a free loopback port (`--addr 127.0.0.1:0`; the port is read from its `listening on` line),
// runs the suite, prints a per-scenario table, and stops the fixture (SIGTERM, then checks it
// exited cleanly). Exits non-zero on any unexpected failure or stale baseline entry.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './lib/children.mjs';
import { conformance, results, stop } from './lib/suite.mjs';
import { ok, done } from './lib/tap.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const suite = path.join(here, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const baseline = path.join(here, 'fixture-baseline.yaml');
const work = path.join(process.env.INTEROP_WORK ?? path.join(here, '..', '.work', 'interop'), 'fixture');

const bin = process.env.SMCP_FIXTURE_BIN;
if (!bin || !existsSync(bin)) {
  console.error(
    `SMCP_FIXTURE_BIN must name the built conformance fixture binary (got ${JSON.stringify(bin ?? null)}); ` +
      'build it with `cargo build --locked -p conformance-fixture` and pass target/debug/conformance-fixture',
  );
  process.exit(2);
}
if (!existsSync(suite)) {
  // Never a silent skip: under CI the missing suite fails the run; by hand it is a loud TAP skip.
  const why = `the conformance suite is not installed (${suite}); run npm ci --ignore-scripts in tests/interop`;
  if (process.env.CI === 'true') {
    ok(false, 'conformance suite installed', why);
    done('fixture');
    process.exit();
  }
  console.log(`ok 1 - conformance suite installed # SKIP ${why}`);
  console.log('1..1');
  process.exit(0);
}
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

/** Starts the fixture on a free loopback port; resolves { child, url } once it is listening. */
function startFixture() {
  const child = track(spawn(bin, ['--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`fixture did not report its address within 30 s:\n${stdout}${stderr}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1], stderr: () => stderr });
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited before listening (code ${code}, signal ${signal}):\n${stdout}${stderr}`));
    });
  });
}

const table = [];
let fixture;
try {
  fixture = await startFixture();
  ok(true, `fixture listening at ${fixture.url}`);
  for (const revision of ['2025-11-25', '2026-07-28']) {
    const dir = path.join(work, `server-${revision}`);
    const run = await conformance(fixture.url, revision, dir, baseline, 600_000);
    const summary = run.output.slice(run.output.indexOf('=== SUMMARY ==='));
    ok(run.code === 0, `conformance server --requirements ${revision}: no unexpected failures, no stale baseline entries`, summary);
    const got = existsSync(dir) ? results(dir) : new Map();
    ok(got.size > 0, `conformance server --requirements ${revision} ran scenarios`, run.output.slice(-2000));
    for (const [scenario, r] of got) table.push([revision, scenario, r.verdict, r.counts, r.bad.join(', ')]);
  }
} catch (error) {
  ok(false, 'fixture run', error?.stack ?? String(error));
} finally {
  if (fixture) {
    const code = await stop(fixture.child);
    ok(code === 0, 'fixture stops cleanly on SIGTERM', `exit code ${code}\n${fixture.stderr().slice(-2000)}`);
  }
}

console.log('# scenario table (requirement set | scenario | result | checks passed/total | non-passing checks):');
for (const row of table) console.log(`# ${row.join(' | ')}`);
done('fixture');
