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

log "cfn-lint deploy/template.yaml"
bash deploy/lint.sh "$work/cfn-venv"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
cargo test --workspace --locked --no-fail-fast
