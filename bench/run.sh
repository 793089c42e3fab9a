#!/usr/bin/env bash
# The benchmark command (README, "Benchmarks"): cold start, token verification and issuance,
# authenticated MCP throughput, memory, chart rendering and artefact size, each as a ratio to a
# reference measured in the same run (charts against their budget). Writes
# target/bench/latest.json and prints a table. Not part of tests/run.sh.
#
# Knobs (environment): BENCH_RUNS (cold starts per binary, default 15), BENCH_WRK_SECONDS
# (default 10), BENCH_WRK_CONNECTIONS (default 32), BENCH_WRK_THREADS (default 2),
# BENCH_TOKEN_ROUNDS (rounds of /token exchanges, each against its own openssl measurement,
# default 3), BENCH_CODES (seeded codes per round, default 16000), BENCH_CONCURRENCY (concurrent
# /token exchanges, default 8), BENCH_TOKEN_SECONDS (seconds per round, default 4),
# BENCH_MCP_ROUNDS (paired rounds of the tools/list limit and tools/list, default 3),
# BENCH_ROUNDTRIPS=0 (skips stage 6), BENCH_DELAY_MS (per AWS call in stage 6, default 5),
# BENCH_ROUNDTRIP_REPS (flows per login mode in stage 6, default 3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${BENCH_RUNS:-15}
WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
WRK_CONNECTIONS=${BENCH_WRK_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
TOKEN_ROUNDS=${BENCH_TOKEN_ROUNDS:-3}
MCP_ROUNDS=${BENCH_MCP_ROUNDS:-3}
CODES=${BENCH_CODES:-16000}
CONCURRENCY=${BENCH_CONCURRENCY:-8}
TOKEN_SECONDS=${BENCH_TOKEN_SECONDS:-4}

OUT=target/bench
BIN=target/release
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smcp-bench.XXXXXX")
SERVE_PID=
EMU_PID=
LIMIT_PID=
cleanup() {
    if [[ -n $LIMIT_PID ]]; then
        kill "$LIMIT_PID" 2>/dev/null || true
        wait "$LIMIT_PID" 2>/dev/null || true
    fi
    if [[ -n $EMU_PID ]]; then
        kill "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
    fi
    if [[ -n $SERVE_PID ]] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '== %s\n' "$*" >&2; }

step "building (release)"
cargo build --release -p serverless-mcp -p authz -p mcp -p bench >&2
cargo bench -p shared --bench token --no-run >&2
cargo bench -p charts --bench render --no-run >&2
# The deployed artefacts (arm64, cargo-lambda + Zig; also installs cargo-lambda, whose emulator
# times the Lambda cold starts below). BENCH_LAMBDA_BUILD=0 skips it (sizes then come from the
# native binaries, and the emulator from an existing tests/.work/build-venv).
LAMBDA_VENV=tests/.work/build-venv
if [[ ${BENCH_LAMBDA_BUILD:-1} != 0 ]]; then
    step "building the Lambda artefacts (deploy/build.sh)"
    bash deploy/build.sh "$LAMBDA_VENV" >&2
fi

if ! command -v wrk >/dev/null; then  # only ever pointed at loopback below
    step "installing wrk"
    SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get install -y wrk >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y wrk >&2; }
fi

BENCH_START=$(date +%s)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() { # url: up to 10 s for a 200
    for _ in $(seq 1 1000); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.01
    done
    echo "bench: $1 never answered 200" >&2
    return 1
}
start_serve() { # data dir, port
    "$BIN/serverless-mcp" serve --data-dir "$1" --addr "127.0.0.1:$2" >"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
    wait_ok "http://127.0.0.1:$2/healthz"
}
stop_serve() {
    kill "$SERVE_PID"
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=
}

step "initialising a data dir (key generation happens here, once)"
TEMPLATE=$WORK/template
start_serve "$TEMPLATE" "$(free_port)"
stop_serve

step "1. cold start: serve vs hello-axum, $RUNS starts each"
"$BIN/bench-driver" coldstart --runs "$RUNS" --path /healthz --template "$TEMPLATE" \
    -- "$BIN/serverless-mcp" serve --addr '{addr}' --data-dir '{data}' >"$WORK/cold_serve.json"
"$BIN/bench-driver" coldstart --runs "$RUNS" --path / \
    -- "$BIN/hello-axum" --addr '{addr}' >"$WORK/cold_hello.json"
if [[ -x $LAMBDA_VENV/bin/cargo-lambda ]]; then
    # The Runtime API and Function URL emulation of `cargo lambda watch`, without its build: each
    # start runs the native release binary against it, and the first request through the
    # emulator is timed from the process start (what a cold Function URL request waits for).
    step "1b. Lambda cold start under cargo lambda watch, $RUNS starts per function"
    EMU_PORT=$(free_port)
    PATH="$PWD/$LAMBDA_VENV/bin:$PATH" cargo lambda watch --only-lambda-apis --ignore-changes \
        -A 127.0.0.1 -P "$EMU_PORT" >"$WORK/emulator.log" 2>&1 &
    EMU_PID=$!
    for _ in $(seq 1 300); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 0.1)" \
            "$EMU_PORT" 2>/dev/null && break
        sleep 0.1
    done
    EMU=127.0.0.1:$EMU_PORT
    LAMBDA_ENV=(env AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256
        AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_RUNTIME_API="http://$EMU/.rt"
        SMCP_ISSUER="http://$EMU" SMCP_RESOURCE="http://$EMU/mcp" SMCP_DATA_DIR='{data}')
    "$BIN/bench-driver" coldstart --runs "$RUNS" --via "$EMU" --template "$TEMPLATE" \
        --path /.well-known/oauth-authorization-server -- "${LAMBDA_ENV[@]}" "$BIN/authz" \
        >"$WORK/cold_lambda_authz.json"
    "$BIN/bench-driver" coldstart --runs "$RUNS" --via "$EMU" --template "$TEMPLATE" \
        --path /.well-known/oauth-protected-resource/mcp -- "${LAMBDA_ENV[@]}" "$BIN/mcp" \
        >"$WORK/cold_lambda_mcp.json"
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
    EMU_PID=
    python3 - "$WORK" <<'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
out = {name: json.loads((work / f"cold_lambda_{name}.json").read_text()) for name in ("authz", "mcp")}
(work / "cold_lambda.json").write_text(json.dumps(out))
PY
else
    echo '"not measured: cargo-lambda is not installed (run deploy/build.sh)"' >"$WORK/cold_lambda.json"
fi

step "2. token verification: criterion verify vs openssl speed rsa2048"
rm -rf target/criterion/verify/new target/criterion/verify_cached/new
cargo bench -p shared --bench token -- --warm-up-time 1 --measurement-time 4 verify \
    >"$WORK/criterion.log" 2>&1 || { cat "$WORK/criterion.log" >&2; exit 1; }
grep -E '^verify|time:' "$WORK/criterion.log" >&2 || true
cp target/criterion/verify/new/estimates.json "$WORK/verify.json"
cp target/criterion/verify_cached/new/estimates.json "$WORK/verify_cached.json"
openssl speed -seconds 2 -mr rsa2048 2>/dev/null | grep '^+F2:' >"$WORK/openssl.txt"

step "3. token issuance: $TOKEN_ROUNDS rounds of $CONCURRENCY concurrent /token exchanges, each after its own openssl speed rsa2048"
PORT=$(free_port)
ISSUER=http://127.0.0.1:$PORT
DATA=$WORK/data
cp -a "$TEMPLATE" "$DATA"
for round in $(seq 1 "$TOKEN_ROUNDS"); do
    "$BIN/bench-driver" seed --data-dir "$DATA" --resource "$ISSUER/mcp" --codes "$CODES" \
        --out "$WORK/codes_$round.json" >&2
done
start_serve "$DATA" "$PORT"
# Every round is compared with the signing limit measured just before it (the machine's speed
# drifts between rounds), and the verdict is the worst round's: "at or above 0.6x in every run".
for round in $(seq 1 "$TOKEN_ROUNDS"); do
    openssl speed -seconds 2 -mr rsa2048 2>/dev/null | grep '^+F2:' >"$WORK/openssl_sign_$round.txt"
    "$BIN/bench-driver" redeem --url "$ISSUER" --codes-file "$WORK/codes_$round.json" \
        --concurrency "$CONCURRENCY" --seconds "$TOKEN_SECONDS" >"$WORK/issuance_$round.json"
done

step "4. MCP tools/list against its limit in $MCP_ROUNDS paired rounds, then ping and /healthz (wrk -t$WRK_THREADS -c$WRK_CONNECTIONS, ${WRK_SECONDS}s each), peak RSS"
TOKEN=$("$BIN/bench-driver" mint --data-dir "$DATA" --issuer "$ISSUER" --resource "$ISSUER/mcp" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# One checked request first: the load must be answered 200, not a refusal.
curl -fsS -o "$WORK/tools_list.txt" -X POST "$ISSUER/mcp" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H 'MCP-Protocol-Version: 2025-06-18' \
    --data '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
grep -q '"tools"' "$WORK/tools_list.txt"
# The limit: hello-axum answering the same bytes as tools/list to the same requests. It runs
# beside serve (each idle while the other is measured), and every round measures the limit just
# before tools/list, so the machine's drift between minutes falls on both alike.
LIMIT_PORT=$(free_port)
"$BIN/hello-axum" --addr "127.0.0.1:$LIMIT_PORT" --body-file "$WORK/tools_list.txt" &
LIMIT_PID=$!
wait_ok "http://127.0.0.1:$LIMIT_PORT/"
# Peak RSS from here on: clear_refs 5 resets VmHWM (Linux >= 4.0).
echo 5 >"/proc/$SERVE_PID/clear_refs" 2>/dev/null || echo "bench: cannot reset VmHWM" >&2
WRK=(wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency)
for round in $(seq 1 "$MCP_ROUNDS"); do
    BENCH_TOKEN=$TOKEN "${WRK[@]}" -s bench/mcp.lua "http://127.0.0.1:$LIMIT_PORT/mcp" \
        >"$WORK/wrk_limit_$round.txt"
    BENCH_TOKEN=$TOKEN "${WRK[@]}" -s bench/mcp.lua "$ISSUER/mcp" >"$WORK/wrk_mcp_$round.txt"
done
kill "$LIMIT_PID" && wait "$LIMIT_PID" 2>/dev/null || true
LIMIT_PID=
"${WRK[@]}" "$ISSUER/healthz" >"$WORK/wrk_healthz.txt"
# The same endpoint with a body-less JSON-RPC `ping`: what tools/list costs beyond its 70 KB answer.
BENCH_TOKEN=$TOKEN "${WRK[@]}" -s bench/ping.lua "$ISSUER/mcp" >"$WORK/wrk_ping.txt"
grep VmHWM "/proc/$SERVE_PID/status" >"$WORK/rss.txt"
stop_serve

step "5b. chart rendering: criterion, one render + PNG encode per chart kind (budget 30 ms, 150 KB)"
rm -rf target/criterion/chart_*/new target/criterion/charts-sizes.json
cargo bench -p charts --bench render -- --warm-up-time 1 --measurement-time 3 \
    >"$WORK/charts.log" 2>&1 || { cat "$WORK/charts.log" >&2; exit 1; }
grep -E '^chart_|time:' "$WORK/charts.log" >&2 || true
for kind in cost-by-service forecast utilization comparison; do
    cp "target/criterion/chart_$kind/new/estimates.json" "$WORK/chart_$kind.json"
done
cp target/criterion/charts-sizes.json "$WORK/chart_sizes.json"

if [[ ${BENCH_ROUNDTRIPS:-1} != 0 ]]; then
    step "6. round trips per operation: moto and oidc-provider behind a ${BENCH_DELAY_MS:-5} ms delay (bench/roundtrips.py)"
    VENV=tests/.work/venv
    if [[ ! -x $VENV/bin/python ]]; then  # the venv tests/run.sh makes, made the same way
        python3 -m venv "$VENV" >&2
        "$VENV/bin/pip" install --quiet -r tests/requirements.txt >&2
    fi
    if [[ ! -d tests/oidc/node_modules/oidc-provider ]]; then
        (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
    "$VENV/bin/python" bench/roundtrips.py --serve "$BIN/serverless-mcp" \
        --delay-ms "${BENCH_DELAY_MS:-5}" --reps "${BENCH_ROUNDTRIP_REPS:-3}" \
        --json "$WORK/roundtrips.json" >/dev/null
fi

step "7. zipped Lambda artefacts"
BENCH_ELAPSED=$(($(date +%s) - BENCH_START))
export WORK OUT BIN RUNS WRK_SECONDS WRK_CONNECTIONS WRK_THREADS CONCURRENCY TOKEN_ROUNDS MCP_ROUNDS BENCH_ELAPSED
python3 bench/report.py
