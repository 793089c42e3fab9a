#!/usr/bin/env bash
# schemathesis against `serverless-mcp serve`, driven by openapi/openapi.yaml (issue 9).
#
# What it does: installs the pinned schemathesis (tests/openapi/requirements.txt) into its own
# venv under tests/.work/openapi-venv (reused while the requirements file is unchanged), builds
# target/debug/serverless-mcp (`cargo build --locked -p serverless-mcp`, a no-op when it is up
# to date), starts `serve` on a free 127.0.0.1 port with a fresh data dir, obtains credentials
# from it (credentials.py: registered clients and an access token, through the real consent and
# login pages), and runs every operation of the spec through schemathesis: examples, coverage,
# fuzzing and stateful phases, deterministic generation (same cases every run), a fixed number
# of examples per operation, no redirects followed (the redirect targets are the clients'
# URIs), requests to 127.0.0.1 only.
# Any failure of a check fails the script; the report is in tests/.work/openapi/.
#
# The registration endpoint is rate limited per source address; for this run the limit is
# raised (SMCP_REGISTER_RATE_LIMIT) so that cases reach the validation they are meant to
# test. 429 with Retry-After is still a documented answer of /register and of the pages.
#
# Usage: bash tests/openapi/run.sh   (from anywhere; needs python3 and cargo)
# Environment: OPENAPI_MAX_EXAMPLES (default 50); OPENAPI_SEED=N explores instead: random
# generation from seed N rather than the deterministic mode; OPENAPI_BIN (a serverless-mcp
# binary to test instead of building target/debug/serverless-mcp).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$root/tests/.work/openapi"
venv="$root/tests/.work/openapi-venv"
mkdir -p "$work"
cd "$root"

log() { printf '== openapi: %s\n' "$*" >&2; }
started=$SECONDS

serve_pid=""
cleanup() {
  local status=$?
  set +e
  if [ -n "$serve_pid" ]; then
    kill "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- schemathesis, pinned, in its own venv ---
stamp="$venv/.requirements.sha256"
want="$(sha256sum tests/openapi/requirements.txt | cut -d' ' -f1)"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "creating the schemathesis venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/openapi/requirements.txt
  echo "$want" > "$stamp"
fi

# --- the system under test ---
bin="${OPENAPI_BIN:-}"
if [ -z "$bin" ]; then
  log "cargo build -p serverless-mcp"
  cargo build --locked --quiet -p serverless-mcp
  bin="$root/target/debug/serverless-mcp"
fi

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
data="$work/data"
rm -rf "$data" "$work/report" "$work/serve.out" "$work/credentials.env"
# Only what this run needs differs from the defaults: the embedded store and login, the
# sample cost data, and a registration limit the fuzzer does not exhaust.
env -u SMCP_ISSUER -u SMCP_RESOURCE -u AWS_ENDPOINT_URL \
  SMCP_STORE=sqlite SMCP_LOGIN=embedded SMCP_COST_SOURCE=sample \
  SMCP_REGISTER_RATE_LIMIT=1000000/3600 RUST_LOG=warn \
  "$bin" serve --addr "127.0.0.1:$port" --data-dir "$data" \
  > "$work/serve.out" 2> "$work/serve.log" &
serve_pid=$!
base="http://127.0.0.1:$port"
deadline=$((SECONDS + 60))
until grep -q '^login: username=' "$work/serve.out" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$serve_pid" 2>/dev/null; then
    echo "openapi: serverless-mcp serve did not start; its output:" >&2
    cat "$work/serve.out" "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.2
done

# --- credentials for the endpoints behind authentication (see credentials.py) ---
user="$(sed -n 's/^login: username=\([^ ]*\) password=.*/\1/p' "$work/serve.out")"
password="$(sed -n 's/^login: username=[^ ]* password=\(.*\)$/\1/p' "$work/serve.out")"
"$venv/bin/python" tests/openapi/credentials.py "$base" "$user" "$password" > "$work/credentials.env"
set -a
# shellcheck disable=SC1091
. "$work/credentials.env"
set +a

# --- schemathesis ---
# Checks: all of them, except the one that cannot apply to this API:
# - positive_data_acceptance: a request valid by the schema is not a request the server can
#   accept. /token, /revoke, /consent, /login, /callback need codes, tokens, CSRF values and
#   client credentials issued earlier in a browser flow, and an update of a client must carry
#   that client's own id; the correct answer to generated data is a documented 4xx.
# (ignored_auth stays on: /register/{client_id} and /mcp get real credentials, see above, and
# must answer 401 without them.)
if [ -n "${OPENAPI_SEED:-}" ]; then
  generation=(--seed "$OPENAPI_SEED")
else
  generation=(--generation-deterministic)
fi
log "schemathesis against $base"
status=0
# From the work dir: schemathesis keeps its example cache (.schemathesis/) in the current directory.
(cd "$work" && "$venv/bin/schemathesis" --config-file "$root/tests/openapi/schemathesis.toml" \
  run "$root/openapi/openapi.yaml" \
  --url "$base" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "${OPENAPI_MAX_EXAMPLES:-50}" \
  "${generation[@]}" \
  --max-redirects 0 \
  --request-timeout 10 \
  --workers 2 \
  --no-color \
  --report junit,ndjson --report-dir "$work/report") \
  || status=$?

if grep -q 'panicked' "$work/serve.log" 2>/dev/null; then
  echo "openapi: the server panicked during the run:" >&2
  grep -A3 'panicked' "$work/serve.log" >&2
  status=1
fi
log "stage took $((SECONDS - started)) s (server log: $work/serve.log)"
exit "$status"
