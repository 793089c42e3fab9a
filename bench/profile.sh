#!/usr/bin/env bash
# Where a request's time goes: `serve` from the `profiling` build (release code with symbols)
# under load, sampled with `perf record --call-graph dwarf`, and each sample put down to the
# layer it was in (bench/layers.py). Not part of tests/run.sh or bench/run.sh.
#
#   bash bench/profile.sh [tools-list|ping|token]   (default tools-list)
#
# Knobs: PROFILE_SECONDS (sampling time, default 4), PROFILE_HZ (default 499). Needs perf
# (Debian: linux-perf) and wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WHAT=${1:-tools-list}
SECONDS_SAMPLED=${PROFILE_SECONDS:-4}
HZ=${PROFILE_HZ:-499}
case $WHAT in tools-list | ping | token) ;; *)
    echo "usage: bash bench/profile.sh [tools-list|ping|token]" >&2
    exit 2
    ;;
esac
for tool in perf wrk; do
    command -v "$tool" >/dev/null || { echo "bench/profile.sh: $tool is not installed" >&2; exit 1; }
done

cargo build --profile profiling -p serverless-mcp -p bench >&2
BIN=target/profiling
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smcp-profile.XXXXXX")
SERVE_PID=
LOAD_PID=
cleanup() {
    for pid in $LOAD_PID $SERVE_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ISSUER=http://127.0.0.1:$PORT
start_serve() {
    "$BIN/serverless-mcp" serve --data-dir "$WORK/data" --addr "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
    for _ in $(seq 1 1000); do
        curl -fsS -o /dev/null "$ISSUER/healthz" 2>/dev/null && return 0
        sleep 0.01
    done
    echo "bench/profile.sh: serve never answered" >&2
    exit 1
}
start_serve
if [[ $WHAT == token ]]; then
    kill "$SERVE_PID" && wait "$SERVE_PID" 2>/dev/null || true
    "$BIN/bench-driver" seed --data-dir "$WORK/data" --resource "$ISSUER/mcp" --codes 40000 \
        --out "$WORK/codes.json" >&2
    start_serve
    "$BIN/bench-driver" redeem --url "$ISSUER" --codes-file "$WORK/codes.json" --concurrency 8 \
        --seconds $((SECONDS_SAMPLED + 2)) >"$WORK/load.out" &
else
    TOKEN=$("$BIN/bench-driver" mint --data-dir "$WORK/data" --issuer "$ISSUER" \
        --resource "$ISSUER/mcp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    script=bench/mcp.lua
    [[ $WHAT == ping ]] && script=bench/ping.lua
    BENCH_TOKEN=$TOKEN wrk -t2 -c32 -d$((SECONDS_SAMPLED + 2))s -s "$script" "$ISSUER/mcp" \
        >"$WORK/load.out" &
fi
LOAD_PID=$!
sleep 1
perf record -q -F "$HZ" --call-graph dwarf,16384 -p "$SERVE_PID" -o "$WORK/perf.data" \
    -- sleep "$SECONDS_SAMPLED" >&2
wait "$LOAD_PID" || true
LOAD_PID=
grep -E "Requests/sec|per_sec" "$WORK/load.out" >&2 || true
mkdir -p target/bench
perf script -i "$WORK/perf.data" 2>/dev/null >"target/bench/profile-$WHAT.txt"
echo "serve ($WHAT under load): share of samples by layer (stacks: target/bench/profile-$WHAT.txt)"
python3 bench/layers.py <"target/bench/profile-$WHAT.txt"
