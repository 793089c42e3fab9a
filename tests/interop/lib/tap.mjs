// A tiny TAP producer: `check(name, fn)` runs one check; `done()` prints the plan and the
// "N passed, N failed" line and sets the exit code.
let n = 0;
let failed = 0;
const failures = [];

export function ok(condition, name, detail) {
  n += 1;
  if (condition) {
    console.log(`ok ${n} - ${name}`);
  } else {
    failed += 1;
    failures.push(name);
    console.log(`not ok ${n} - ${name}`);
    if (detail !== undefined) {
      const text = typeof detail === 'string' ? detail : JSON.stringify(detail, null, 2);
      for (const line of String(text).split('\n').slice(0, 40)) console.log(`  # ${line}`);
    }
  }
  return condition;
}

/** Runs an async step; a throw is one failed check (with the error) and returns undefined. */
export async function step(name, fn) {
  try {
    const value = await fn();
    ok(true, name);
    return value;
  } catch (error) {
    ok(false, name, error?.stack ?? String(error));
    return undefined;
  }
}

export function done(label) {
  console.log(`1..${n}`);
  console.log(`# ${label}: ${n - failed} passed, ${failed} failed`);
  if (failed) console.log(`# failed: ${failures.join('; ')}`);
  process.exitCode = failed ? 1 : 0;
}

/** Reads the required environment: SMCP_BASE, SMCP_USER, SMCP_PASSWORD. */
export function target() {
  const base = process.env.SMCP_BASE;
  const username = process.env.SMCP_USER;
  const password = process.env.SMCP_PASSWORD;
  if (!base || !username || !password) {
    console.error('SMCP_BASE, SMCP_USER and SMCP_PASSWORD must be set (tests/run.sh sets them)');
    process.exit(2);
  }
  return { base, username, password, mcp: `${base}/mcp` };
}
