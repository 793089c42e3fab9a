#!/usr/bin/env bash
# Bounded load test (SECURITY.md, "Faults and load"): `serverless-mcp serve` on a free loopback
# port with a fresh data dir, tokens obtained through the real flow (tests/load/tokens.py), then
# wrk for a fixed time against (1) authenticated MCP `tools/list` and (2) /token refresh_token
# grants, each connection rotating its own refresh-token family. Passes when every answer is 2xx,
# no socket errors occurred and serve's RSS stayed flat. Writes tests/.work/load/results.{md,json}.
#
# Knobs (environment): LOAD_BIN (the serve binary; default target/$LOAD_PROFILE/serverless-mcp,
# built here unless LOAD_BIN is given), LOAD_PROFILE (debug, the default, or release),
# LOAD_SECONDS (per stage, default 10), LOAD_CONNECTIONS (default 4), LOAD_RSS_TOLERANCE_PCT
# (default 15), LOAD_RSS_TOLERANCE_KB (default 4096: growth under either bound passes).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/load"
work="$root/tests/.work/load"
cd "$root"

PROFILE=${LOAD_PROFILE:-debug}
SECONDS_PER_STAGE=${LOAD_SECONDS:-10}
CONNECTIONS=${LOAD_CONNECTIONS:-4}
TOL_PCT=${LOAD_RSS_TOLERANCE_PCT:-15}
TOL_KB=${LOAD_RSS_TOLERANCE_KB:-4096}
WARMUP_SAMPLES=4 # the first 2 s of each stage

log() { printf '== load: %s\n' "$*" >&2; }

serve_pid=
sampler_pid=
cleanup() {
  local status=$?
  set +e
  for pid in "$sampler_pid" "$serve_pid"; do
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

build_started=$SECONDS
rm -rf "$work"
mkdir -p "$work"

if [ -n "${LOAD_BIN:-}" ]; then
  bin=$LOAD_BIN
else
  bin="$root/target/$PROFILE/serverless-mcp"
  if [ "$PROFILE" = release ]; then
    cargo build --locked --quiet --release -p serverless-mcp
  else
    cargo build --locked --quiet -p serverless-mcp
  fi
fi
[ -x "$bin" ] || { echo "load: no serve binary at $bin" >&2; exit 1; }
log "build: $((SECONDS - build_started)) s"
started=$SECONDS # the stage proper, build excluded

if ! command -v wrk >/dev/null 2>&1; then # wrk is only ever pointed at loopback below
  log "installing wrk (Debian package)"
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y wrk >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y wrk >&2; }
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$work/data" >"$work/serve.out" 2>"$work/serve.log" &
serve_pid=$!
deadline=$((SECONDS + 60))
until grep -q '^login: username=' "$work/serve.out" 2>/dev/null \
  && python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$base/healthz" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$serve_pid" 2>/dev/null; then
    echo "load: serve did not start; its output:" >&2
    cat "$work/serve.out" "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.2
done
user="$(sed -n 's/^login: username=\([^ ]*\) password=.*/\1/p' "$work/serve.out")"
password="$(sed -n 's/^login: username=[^ ]* password=\(.*\)$/\1/p' "$work/serve.out")"

log "tokens through the real flow ($CONNECTIONS refresh-token families)"
python3 "$here/tokens.py" "$base" "$user" "$password" "$CONNECTIONS" >"$work/tokens.json"
python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["refresh_tokens"]))' \
  "$work/tokens.json" >"$work/refresh_tokens.txt"
LOAD_ACCESS_TOKEN="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$work/tokens.json")"
LOAD_CLIENT_ID="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$work/tokens.json")"
export LOAD_ACCESS_TOKEN LOAD_CLIENT_ID LOAD_DIR="$here" LOAD_REFRESH_FILE="$work/refresh_tokens.txt"

# Samples serve's VmRSS (kB) every 0.5 s into $1 until killed.
sample_rss() {
  while kill -0 "$serve_pid" 2>/dev/null; do
    awk '/^VmRSS:/ { print $2 }' "/proc/$serve_pid/status" >>"$1" 2>/dev/null || true
    sleep 0.5
  done
}

stage() { # name script path
  local name=$1 script=$2 path=$3
  log "$name: wrk -t$CONNECTIONS -c$CONNECTIONS -d${SECONDS_PER_STAGE}s $path"
  : >"$work/rss_$name.txt"
  sample_rss "$work/rss_$name.txt" &
  sampler_pid=$!
  wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${SECONDS_PER_STAGE}s" --latency --timeout 5s \
    -s "$here/$script" "$base$path" >"$work/wrk_$name.txt" 2>"$work/wrk_$name.err" || {
    echo "load: wrk failed ($name):" >&2
    cat "$work/wrk_$name.txt" "$work/wrk_$name.err" >&2
    exit 1
  }
  kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=
  kill -0 "$serve_pid" 2>/dev/null || { echo "load: serve died during $name" >&2; exit 1; }
}

stage mcp_tools_list mcp.lua /mcp
stage token_refresh refresh.lua /token

export WORK="$work" TOL_PCT TOL_KB WARMUP_SAMPLES SECONDS_PER_STAGE CONNECTIONS PROFILE BIN="$bin"
export ELAPSED=$((SECONDS - started))
python3 - <<'EOF'
import json, os, re, sys

work = os.environ["WORK"]
tol_pct, tol_kb = float(os.environ["TOL_PCT"]), float(os.environ["TOL_KB"])
warmup = int(os.environ["WARMUP_SAMPLES"])
results, failed = {}, []
for name in ("mcp_tools_list", "token_refresh"):
    text = open(f"{work}/wrk_{name}.txt").read()
    m = re.search(r"RESULT requests=(\d+) duration_us=(\d+) non2xx=(\d+) socket_errors=(\d+) "
                  r"p50_us=(\d+) p99_us=(\d+)", text)
    if not m:
        failed.append(f"{name}: no RESULT line from wrk")
        continue
    requests, duration, non2xx, socket_errors, p50, p99 = map(int, m.groups())
    rss = [int(x) for x in open(f"{work}/rss_{name}.txt").read().split()]
    measured = rss[warmup:]
    third = max(1, len(measured) // 3)
    first = sum(measured[:third]) / third if measured else 0
    last = sum(measured[-third:]) / third if measured else 0
    growth = last - first
    allowed = max(first * tol_pct / 100, tol_kb)
    flat = len(measured) >= 3 and growth <= allowed
    r = {
        "requests": requests,
        "seconds": duration / 1e6,
        "requests_per_second": round(requests / (duration / 1e6), 1),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "non_2xx": non2xx,
        "socket_errors": socket_errors,
        "rss_samples": len(rss),
        "rss_first_third_kb": round(first),
        "rss_last_third_kb": round(last),
        "rss_growth_kb": round(growth),
        "rss_allowed_growth_kb": round(allowed),
        "rss_flat": flat,
        "rss_kb": rss,
    }
    results[name] = r
    if requests == 0:
        failed.append(f"{name}: no requests completed")
    if non2xx:
        failed.append(f"{name}: {non2xx} non-2xx answers")
    if socket_errors:
        failed.append(f"{name}: {socket_errors} socket errors")
    if not flat:
        failed.append(f"{name}: RSS grew {growth:.0f} kB (allowed {allowed:.0f} kB)")

summary = {
    "binary": os.environ["BIN"],
    "profile": os.environ["PROFILE"],
    "connections": int(os.environ["CONNECTIONS"]),
    "seconds_per_stage": int(os.environ["SECONDS_PER_STAGE"]),
    "stage_seconds": int(os.environ["ELAPSED"]),
    "stages": results,
    "passed": not failed,
    "failures": failed,
}
json.dump(summary, open(f"{work}/results.json", "w"), indent=2)
lines = [
    "# Load test results",
    "",
    f"Binary `{summary['binary']}`, {summary['connections']} connections, "
    f"{summary['seconds_per_stage']} s per stage, whole stage {summary['stage_seconds']} s.",
    "",
    "| stage | requests | req/s | p50 ms | p99 ms | non-2xx | socket errors | RSS first third kB | RSS last third kB | flat |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for name, r in results.items():
    lines.append(
        f"| {name} | {r['requests']} | {r['requests_per_second']} | {r['p50_ms']:.2f} | "
        f"{r['p99_ms']:.2f} | {r['non_2xx']} | {r['socket_errors']} | {r['rss_first_third_kb']} | "
        f"{r['rss_last_third_kb']} | {'yes' if r['rss_flat'] else 'NO'} |"
    )
lines += ["", "PASSED" if not failed else "FAILED: " + "; ".join(failed), ""]
open(f"{work}/results.md", "w").write("\n".join(lines))
print("\n".join(lines))
sys.exit(1 if failed else 0)
EOF
log "stage: $((SECONDS - started)) s"
