"""The Python `mcp` package's `OAuthClientProvider` registering through a Client ID Metadata
Document instead of dynamic registration: the document is served from a local https server
(`https://localhost:<port>/client.json`, certificate from cimd_certs.py) and its URL given as
`client_metadata_url`; the server must have been started with SMCP_CIMD_TEST_CA naming that CA.
Checks that no registration happened, that the client_id at /authorize is the URL, that the
authorization server fetched the document, and that the tokens work for tools/list, a
tools/call and a refresh.

TAP output; exit status 1 on any failure. Needs SMCP_BASE, SMCP_USER, SMCP_PASSWORD and
INTEROP_WORK (the folder holding cimd-localhost.pem and cimd-localhost-key.pem).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import anyio
from mcp import Client

from python_client import BASE, MCP, PASSWORD, USER, Connection, done, ok

WORK = os.environ.get("INTEROP_WORK", "")
REDIRECT = "http://127.0.0.1:53684/callback"


class DocumentServer:
    """https://localhost:<port>/client.json from a thread; counts the fetches."""

    def __init__(self, cert: str, key: str) -> None:
        self.fetches = 0
        self.document: bytes = b""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/client.json":
                    self.send_error(404)
                    return
                outer.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(outer.document)))
                self.end_headers()
                self.wfile.write(outer.document)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://localhost:{self.httpd.server_address[1]}/client.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DocumentServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


async def run(docs: DocumentServer) -> None:
    docs.document = json.dumps(
        {
            "client_id": docs.url,
            "client_name": "interop Python SDK client (CIMD)",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
    ).encode()

    conn = Connection("interop Python SDK client (CIMD)", REDIRECT, client_metadata_url=docs.url)
    exchanges, headless, storage, provider, http, session = (
        conn.exchanges, conn.headless, conn.storage, conn.provider, conn.http, conn.session,
    )

    async def first(client: Client):
        return await client.list_tools(), await client.call_tool("get_today_date", {})

    outcome = await session("connect through the OAuth flow with a client metadata document URL", first)
    urls = [f"{m} {u} {s}" for m, u, s, _ in exchanges]
    metadata = [u for m, u, s, _ in exchanges if m == "GET" and "/.well-known/oauth-authorization-server" in u and s == 200]
    ok(metadata, "authorization-server metadata fetched", urls)
    ok(not any(m == "POST" and urlparse(u).path == "/register" for m, u, _, _ in exchanges), "no POST /register (no dynamic registration)", urls)
    q = parse_qs(urlparse(headless.urls[0]).query) if headless.urls else {}
    ok(q.get("client_id") == [docs.url], "client_id at /authorize is the document URL", headless.urls)
    ok(q.get("code_challenge_method") == ["S256"] and q.get("resource") == [MCP], "PKCE S256 and resource on /authorize", headless.urls)
    ok(docs.fetches >= 1, f"the authorization server fetched the document ({docs.fetches} time(s))")
    token_calls = [(s, b) for m, u, s, b in exchanges if m == "POST" and u == f"{BASE}/token"]
    form = parse_qs(token_calls[0][1]) if token_calls else {}
    ok(token_calls and token_calls[0][0] == 200 and form.get("client_id") == [docs.url], "authorization_code token request with the URL as client_id answered 200", token_calls)
    ok(storage.client and storage.client.client_id == docs.url, "the SDK stored the URL as its client_id", str(storage.client))
    ok(storage.tokens and storage.tokens.refresh_token, "tokens with a refresh token stored", str(storage.tokens))

    if outcome:
        tools, today = outcome
        names = [t.name for t in tools.tools]
        ok(len(names) >= 10 and "get_cost_and_usage" in names, f"tools/list lists the Cost Explorer tools ({len(names)})", names)
        ok(
            not today.is_error and isinstance(today.structured_content, dict) and today.structured_content,
            "tools/call get_today_date answers structuredContent",
            today.model_dump(mode="json") if hasattr(today, "model_dump") else str(today),
        )

    before = storage.tokens
    provider.context.token_expiry_time = time.time() - 1
    listed = await session("tools/list after the access token expired (SDK refreshes)", lambda c: c.list_tools())
    refreshes = [s for m, u, s, b in exchanges if m == "POST" and u == f"{BASE}/token" and "grant_type=refresh_token" in b]
    ok(refreshes and refreshes[-1] == 200, "refresh_token grant answered 200", refreshes)
    ok(storage.tokens and before and storage.tokens.access_token != before.access_token, "new access token after refresh")
    ok(listed is not None and len(listed.tools) >= 10, "tools/list works with the refreshed token")
    ok(len(headless.urls) == 1, "one browser round trip in all", headless.urls)

    await http.aclose()


async def main() -> int:
    if not (BASE and USER and PASSWORD and WORK):
        print("SMCP_BASE, SMCP_USER, SMCP_PASSWORD and INTEROP_WORK must be set (tests/run.sh sets them)", file=sys.stderr)
        return 2
    cert, key = os.path.join(WORK, "cimd-localhost.pem"), os.path.join(WORK, "cimd-localhost-key.pem")
    try:
        docs = DocumentServer(cert, key)
    except OSError as error:
        ok(False, "start the https document server", f"{error} (cimd_certs.py writes {cert})")
        return done("Python mcp client (CIMD)")
    with docs:
        await run(docs)
    return done("Python mcp client (CIMD)")


if __name__ == "__main__":
    sys.exit(anyio.run(main))
