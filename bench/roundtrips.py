"""Round trips per operation (README, "Round trips per operation"): `serverless-mcp serve` on the
AWS adapters (DynamoDB store, KMS signing key, Cost Explorer, Cognito in the `cognito` login
mode) against moto and the oidc-provider stand-in, each behind bench/delay_proxy.py, which
delays every call and counts it. Every operation of a sign-in, a token's life and MCP use runs
one at a time; for each, the calls made while it ran are counted by service, the sequential ones
(the critical path) are found from their start and end times, and its latency is measured with
the delay and without it (the reference of the same run).

    python bench/roundtrips.py --serve target/release/serverless-mcp [--delay-ms 5] [--reps 3]
        [--json OUT] [--check-readme README.md]

Needs the Python venv of tests/run.sh (moto, boto3, requests) and tests/oidc/node_modules. Uses
the moto at AWS_ENDPOINT_URL when set, else starts one. --check-readme fails (exit 1) when the
counts differ from the README's table, or `tools/list` or a tool call answered from the cache
makes more than one store round trip.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests/lambda"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import e2e  # noqa: E402 (tests/lambda: moto account, Cognito pool, Cost Explorer seed, browser)
from delay_proxy import DelayProxy, Tally, sequential  # noqa: E402

TABLE = "smcp-roundtrips"
REDIRECT = "http://127.0.0.1:9/callback"
PROTOCOL = "2025-06-18"
USER, PASSWORD = "bench", "Roundtrips-bench-password-1"
PERIODS = itertools.count()
SERVICES = ("dynamodb", "kms", "cognito-idp", "managed-login", "ce")
# The label of each of our endpoints, by method and path.
LABELS = {
    ("GET", "/authorize"): "authorize",
    ("POST", "/consent"): "consent",
    ("GET", "/login"): "login page",
    ("POST", "/login"): "login",
    ("GET", "/callback"): "callback",
}


def log(message: str) -> None:
    print(f"roundtrips: {message}", file=sys.stderr, flush=True)


class Run:
    """One login mode: serve on the proxies, driven through every operation."""

    def __init__(self, args, aws, proxies, tally: Tally, mode: str, work: Path, upstream: str | None, port: int):
        self.args, self.aws, self.tally, self.mode, self.work = args, aws, tally, mode, work
        self.port = port
        self.base = f"http://127.0.0.1:{self.port}"
        self.latencies: dict[str, list[float]] = {}
        self.calls: dict[str, list] = {}
        env = {
            **os.environ,
            **aws.credentials,
            "AWS_ENDPOINT_URL": proxies["aws"].url,
            "AWS_REGION": aws.region,
            "AWS_DEFAULT_REGION": aws.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SMCP_STORE": "dynamodb",
            "SMCP_TABLE": TABLE,
            "SMCP_SIGNING_KEY": f"kms:{args.kms_key}",
            "SMCP_COST_SOURCE": "aws",
            "SMCP_ACCOUNT_SCOPES": json.dumps({"finance": ["*"]}),
            "SMCP_LOGIN": mode,
            "RUST_LOG": "warn",
        }
        if mode == "cognito":
            env.update({
                "SMCP_COGNITO_REGION": aws.region,
                "SMCP_COGNITO_USER_POOL_ID": args.pool_id,
                "SMCP_COGNITO_DOMAIN": upstream,
                "SMCP_COGNITO_CLIENT_ID": args.app_client_id,
                "SMCP_COGNITO_CLIENT_SECRET": args.app_client_secret,
                "SMCP_COGNITO_DISCOVERY_URL": f"{upstream}/.well-known/openid-configuration",
            })
        self.child = args.children.start(
            f"serve ({mode})",
            [args.serve, "serve", "--addr", f"127.0.0.1:{self.port}", "--data-dir", str(work / f"data-{mode}")],
            work / f"serve-{mode}.log",
            work,
            env=env,
        )
        e2e.wait_listening(self.port, self.child, 30)
        self.browser = e2e.Browser()

    def timed(self, label: str, send):
        """Runs `send` as the operation `label`: its calls and its latency are recorded."""
        with self.tally.lock:
            first = len(self.tally.calls)
        self.tally.operation = label
        started = time.monotonic()
        try:
            answer = send()
        finally:
            elapsed = time.monotonic() - started
            self.tally.operation = None
        with self.tally.lock:
            made = self.tally.calls[first:]
        self.latencies.setdefault(label, []).append(elapsed * 1000)
        self.calls.setdefault(label, []).append(made)
        return answer

    def mcp(self, label: str, token: str, body: dict) -> dict:
        answer = self.timed(label, lambda: requests.post(
            f"{self.base}/mcp", json=body, timeout=60,
            headers={"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream",
                     "mcp-protocol-version": PROTOCOL},
        ))
        if answer.status_code != 200:
            raise e2e.Failure(f"{label}: {e2e.describe(answer)}")
        message = answer.json()
        if "error" in message or (message.get("result") or {}).get("isError"):
            raise e2e.Failure(f"{label}: {json.dumps(message)[:2000]}")
        return message["result"]

    def sign_in(self, client_id: str, rep: int) -> str:
        """/authorize -> consent -> login (ours or the upstream's) -> the client: the code."""
        verifier = e2e.b64url(secrets.token_bytes(32))
        challenge = e2e.b64url(hashlib.sha256(verifier.encode()).digest())
        self.verifier = verifier
        url = f"{self.base}/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT,
            "code_challenge": challenge, "code_challenge_method": "S256",
            "state": e2e.b64url(secrets.token_bytes(9)), "scope": "costs:read",
            "resource": f"{self.base}/mcp",
        })
        method, data = "GET", None
        for _ in range(20):
            parts = urllib.parse.urlsplit(url)
            ours = url.startswith(self.base)
            label = LABELS.get((method, parts.path)) if ours else None
            if ours and label is None:
                raise e2e.Failure(f"no label for {method} {parts.path}")
            send = (lambda m=method, u=url, d=data: self.browser.request(m, u, data=d))
            page = self.timed(label, send) if label else send()
            location = page.headers.get("location")
            if location:
                url = urllib.parse.urljoin(url, location)
                method, data = "GET", None
                if url.startswith(REDIRECT):
                    code = e2e.query(url).get("code")
                    if not code:
                        raise e2e.Failure(f"no code in the redirect to the client: {url.split('?')[0]}")
                    return code
                continue
            if page.status_code != 200:
                raise e2e.Failure(f"{method} {url.split('?')[0]}: {e2e.describe(page)}")
            if 'name="decision"' in page.text:
                fields = {n: e2e.hidden(page.text, n) for n in ("request", "client_id", "csrf")}
                url, method, data = f"{self.base}/consent", "POST", {**fields, "decision": "approve"}
            elif 'name="password"' in page.text and ours:
                fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
                fields.update({"username": USER, "password": PASSWORD})
                url, method, data = f"{self.base}/login", "POST", fields
            else:
                raise e2e.Failure(f"unexpected page at {url.split('?')[0]}:\n{page.text[:1500]}")
        raise e2e.Failure("too many hops")

    def flow(self, rep: int) -> None:
        register = self.timed("register", lambda: requests.post(f"{self.base}/register", timeout=60, json={
            "client_name": "roundtrips", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        }))
        if register.status_code != 201:
            raise e2e.Failure(f"register: {e2e.describe(register)}")
        client_id = register.json()["client_id"]
        code = self.sign_in(client_id, rep)
        token = self.timed("code exchange", lambda: requests.post(f"{self.base}/token", timeout=60, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": client_id, "code_verifier": self.verifier, "resource": f"{self.base}/mcp",
        }))
        if token.status_code != 200:
            raise e2e.Failure(f"code exchange: {e2e.describe(token)}")
        refresh = self.timed("refresh", lambda: requests.post(f"{self.base}/token", timeout=60, data={
            "grant_type": "refresh_token", "refresh_token": token.json()["refresh_token"], "client_id": client_id,
        }))
        if refresh.status_code != 200:
            raise e2e.Failure(f"refresh: {e2e.describe(refresh)}")
        access = refresh.json()["access_token"]
        tools = self.mcp("MCP tools/list", access, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        if not tools.get("tools"):
            raise e2e.Failure("tools/list: no tools")
        # A month of its own for every flow of the run: the first call is a cache miss.
        year, month = divmod(2024 * 12 + 11 - next(PERIODS), 12)
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "get_cost_and_usage",
            "arguments": {"start_date": f"{year}-{month + 1:02d}-01", "end_date": f"{year}-{month + 1:02d}-28",
                          "granularity": "MONTHLY", "group_by": [{"dimension": "SERVICE"}]}}}
        self.mcp("MCP tool call (cache miss)", access, call)
        self.mcp("MCP tool call (cache hit)", access, call)
        revoke = self.timed("revoke", lambda: requests.post(f"{self.base}/revoke", timeout=60, data={
            "token": refresh.json()["refresh_token"], "token_type_hint": "refresh_token", "client_id": client_id,
        }))
        if revoke.status_code != 200:
            raise e2e.Failure(f"revoke: {e2e.describe(revoke)}")

    def results(self) -> list[dict]:
        rows = []
        for label, runs in self.calls.items():
            last = runs[-1]
            counts = {s: sum(1 for c in last if c.service == s) for s in SERVICES}
            seq = [sequential(r) for r in runs]
            store_seq = [sequential([c for c in r if c.service == "dynamodb"]) for r in runs]
            rows.append({
                "mode": self.mode, "operation": label, "calls": counts, "total": len(last),
                "sequential": max(seq), "sequential_min": min(seq), "store_sequential": max(store_seq),
                "apis": sorted(f"{c.service}:{c.api}" for c in last),
                "latency_ms": statistics.median(self.latencies[label]),
            })
        return rows


def setup(args, work: Path):
    # moto's throwaway credentials (the account is switched to a fresh one below).
    for key, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                       ("AWS_REGION", "us-east-1"), ("AWS_EC2_METADATA_DISABLED", "true")):
        os.environ.setdefault(key, value)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        port = e2e.free_port()
        python = os.environ.get("SMCP_TEST_MOTO_PYTHON", sys.executable)
        args.children.start("moto", [python, str(ROOT / "tests/moto_server.py"), "127.0.0.1", str(port)],
                            work / "moto.log", work)
        endpoint = f"http://127.0.0.1:{port}"
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        for _ in range(600):
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{endpoint}/moto-api/", timeout=1).ok:
                    break
            time.sleep(0.05)
    region = os.environ.get("AWS_REGION", "us-east-1")
    with contextlib.redirect_stdout(sys.stderr):
        aws = e2e.assume_fresh_account(endpoint, region)
    env = {**os.environ, **aws.credentials, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    subprocess.run([args.serve, "admin", "--store", f"dynamodb:{TABLE}", "init-table"], env=env, check=True,
                   capture_output=True, cwd=work)
    subprocess.run([args.serve, "admin", "--store", f"dynamodb:{TABLE}", "users", "add", USER, "--group", "finance"],
                   env=env, check=True, capture_output=True, input=PASSWORD.encode(), cwd=work)
    kms = aws.client("kms")
    args.kms_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    idp = aws.client("cognito-idp")
    args.pool_id = idp.create_user_pool(PoolName="smcp-roundtrips")["UserPool"]["Id"]
    return aws


def cognito_app(args, aws, callback: str) -> None:
    idp = aws.client("cognito-idp")
    app = idp.create_user_pool_client(
        UserPoolId=args.pool_id, ClientName="smcp-authz", GenerateSecret=True, CallbackURLs=[callback],
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email", "profile"],
        AllowedOAuthFlowsUserPoolClient=True, SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]
    args.app_client_id, args.app_client_secret = app["ClientId"], app["ClientSecret"]
    sub = e2e.UPSTREAM_SUB
    idp.admin_create_user(UserPoolId=args.pool_id, Username=sub, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": "alice@example.com"}])
    idp.admin_set_user_password(UserPoolId=args.pool_id, Username=sub, Password=PASSWORD, Permanent=True)
    idp.create_group(UserPoolId=args.pool_id, GroupName="finance")
    idp.admin_add_user_to_group(UserPoolId=args.pool_id, Username=sub, GroupName="finance")


def measure(args, aws, work: Path, delay_ms: float) -> list[dict]:
    """Both login modes with `delay_ms` in front of every stand-in."""
    tally = Tally()
    aws_proxy = DelayProxy(aws.endpoint, delay_ms / 1000, tally).start()
    rows = []
    try:
        for mode in ("embedded", "cognito"):
            upstream_proxy = provider = None
            try:
                if mode == "cognito":
                    oidc_port = e2e.free_port()
                    upstream_proxy = DelayProxy(f"http://127.0.0.1:{oidc_port}", delay_ms / 1000, tally,
                                                name="managed-login").start()
                    # The app client's callback names serve's port: one port for every run.
                    run_port = args.cognito_port
                    callback = f"http://127.0.0.1:{run_port}/callback"
                    if not getattr(args, "app_client_id", None):
                        cognito_app(args, aws, callback)
                    provider = args.children.start(
                        "oidc-provider",
                        ["node", "provider.mjs", str(oidc_port), args.app_client_id, args.app_client_secret,
                         callback, str(upstream_proxy.port)],
                        work / "oidc.log", ROOT / "tests/oidc", stdout=subprocess.PIPE)
                    line = provider.proc.stdout.readline().decode().strip() if provider.proc.stdout else ""
                    if not line.startswith("listening"):
                        raise e2e.Failure(f"oidc-provider did not start: {line}")
                run = Run(args, aws, {"aws": aws_proxy}, tally, mode, work,
                          upstream_proxy.url if upstream_proxy else None,
                          run_port if mode == "cognito" else e2e.free_port())
                try:
                    run.flow(-1)  # warm-up: keys, discovery and JWKS fetched once per process
                    run.latencies.clear()
                    run.calls.clear()
                    for rep in range(args.reps):
                        run.flow(rep)
                    rows += run.results()
                finally:
                    args.children.stop(run.child)
            finally:
                if provider:
                    args.children.stop(provider)
                if upstream_proxy:
                    upstream_proxy.stop()
    finally:
        aws_proxy.stop()
    return rows


README_START, README_END = "<!-- roundtrips:start -->", "<!-- roundtrips:end -->"
COLUMNS = ("dynamodb", "kms", "cognito-idp", "managed-login", "ce")


def table(rows: list[dict], delay_ms: float) -> list[str]:
    lines = [
        f"| operation | login | DynamoDB | KMS | Cognito API | managed login | Cost Explorer | sequential "
        f"| latency, {delay_ms:g} ms per call | without the delay |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        counts = " | ".join(str(r["calls"][c]) for c in COLUMNS)
        lines.append(f"| {r['operation']} | {r['mode']} | {counts} | {r['sequential']} "
                     f"| {r['latency_ms']:.1f} ms | {r['latency0_ms']:.1f} ms |")
    return lines


ONE_ROUND_TRIP = ("MCP tools/list", "MCP tool call (cache hit)")


def check_readme(rows: list[dict], readme: Path) -> list[str]:
    """Differences between the measured counts and the README's table; MCP requests above one
    store round trip."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return [f"{readme}: no {README_START} ... {README_END} table"]
    body = text.split(README_START, 1)[1].split(README_END, 1)[0]
    documented = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[2].isdigit():
            documented[(cells[0], cells[1])] = [int(c) for c in cells[2:8]]
    problems = []
    for r in rows:
        want = documented.pop((r["operation"], r["mode"]), None)
        got = [r["calls"][c] for c in COLUMNS] + [r["sequential"]]
        if want != got:
            problems.append(f"{r['operation']} ({r['mode']}): README says {want}, measured {got} "
                            f"({', '.join(r['apis'])})")
        # An MCP request that reaches no upstream stays at one store round trip: tools/list reads
        # the revocation list only, a cached tool call reads the cache beside it.
        if r["operation"] in ONE_ROUND_TRIP and r["store_sequential"] > 1:
            problems.append(f"{r['operation']} ({r['mode']}): {r['store_sequential']} store round trips (at most 1)")
    problems += [f"{op} ({mode}): in the README, not measured" for op, mode in documented]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", required=True, help="the serverless-mcp binary")
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--check-readme", type=Path)
    args = parser.parse_args()
    args.serve = str(Path(args.serve).resolve())
    args.children = e2e.Children()
    args.cognito_port = e2e.free_port()
    work = Path(tempfile.mkdtemp(prefix="smcp-roundtrips."))
    try:
        aws = setup(args, work)
        log("without a delay (the reference)")
        plain = measure(args, aws, work, 0)
        delayed = plain
        if args.delay_ms:
            log(f"with {args.delay_ms:g} ms in front of every call")
            delayed = measure(args, aws, work, args.delay_ms)
        reference = {(r["mode"], r["operation"]): r["latency_ms"] for r in plain}
        for r in delayed:
            r["latency0_ms"] = reference[(r["mode"], r["operation"])]
            r["delay_ms"] = args.delay_ms
        print("\n".join(table(delayed, args.delay_ms)))
        if args.json:
            args.json.write_text(json.dumps(delayed, indent=1) + "\n")
        if args.check_readme:
            problems = check_readme(delayed, args.check_readme)
            for problem in problems:
                print(f"roundtrips: {problem}", file=sys.stderr)
            if problems:
                return 1
            log(f"the counts match {args.check_readme}; tools/list and a cached tool call make one "
                "store round trip")
        return 0
    except (e2e.Failure, subprocess.CalledProcessError) as failure:
        print(f"roundtrips: FAILED: {failure}", file=sys.stderr)
        for child in args.children.items:
            with contextlib.suppress(OSError):
                print(f"--- {child.name} log:\n{child.log_path.read_text()[-3000:]}", file=sys.stderr)
        return 1
    finally:
        args.children.stop_all()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    sys.exit(main())
