// Running the official conformance suite's `server` command and reading its results, shared by
// fixture.mjs (the fixture without auth) and fixture_protected.mjs (behind our bearer layer).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './children.mjs';

const suite = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** Runs `conformance server` for one requirement set; resolves { code, output } (SIGKILL after `timeoutMs`). */
export function conformance(url, revision, dir, baseline, timeoutMs = 900_000) {
  const args = [suite, 'server', '--url', url, '--requirements', revision, '--expected-failures', baseline, '--output-dir', dir];
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } }));
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** One run's results: scenario → { verdict, counts, bad }. */
export function results(dir) {
  const out = new Map();
  for (const entry of readdirSync(dir).sort()) {
    const scenario = entry.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, '');
    const checks = JSON.parse(readFileSync(path.join(dir, entry, 'checks.json'), 'utf8'));
    const bad = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
    const successes = checks.filter((c) => c.status === 'SUCCESS').length;
    const verdict = bad.length ? 'baseline (see CONFORMANCE.md)' : successes ? 'pass' : 'nothing scored (skipped/info only)';
    out.set(scenario, { verdict, counts: `${successes}/${checks.length}`, bad: bad.map((c) => `${c.id} ${c.status}`) });
  }
  return out;
}

/** SIGTERM; resolves the exit code (SIGKILL after 10 s: resolves null). */
export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}
