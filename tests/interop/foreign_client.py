"""The Python `mcp` package's `OAuthClientProvider` against an MCP server we did not write
(ts_server.mjs, the TypeScript SDK's own server) behind our authorization server: discovery from
that server's 401 and metadata, registration, consent and login with us, a token for that server
(`resource`, `aud`), its tools; then RFC 7009 revocation at our /revoke reaches it at once
(its introspection says inactive, the client gets 401) and the SDK recovers.

TAP output; exit status 1 on any failure. Needs SMCP_BASE, SMCP_USER, SMCP_PASSWORD and
SMCP_MCP (the TypeScript server's resource URL), set before `python_client` is imported.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from urllib.parse import parse_qs, urlparse

import anyio
import httpx2 as httpx

import python_client as pc
from python_client import BASE, MCP, Connection, done, ok


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def main() -> int:
    if not (BASE and pc.USER and pc.PASSWORD and os.environ.get("SMCP_MCP")):
        print("SMCP_BASE, SMCP_USER, SMCP_PASSWORD and SMCP_MCP must be set (tests/run.sh sets them)", file=sys.stderr)
        return 2
    ok(MCP != f"{BASE}/mcp" and urlparse(MCP).netloc != urlparse(BASE).netloc, "the MCP server is not on the authorization server's origin", MCP)
    conn = Connection("interop Python SDK client (foreign server)", "http://127.0.0.1:53686/callback")

    async def tools(client):
        listed = await client.list_tools()
        added = await client.call_tool("add", {"a": 20, "b": 22})
        who = await client.call_tool("whoami", {})
        return listed, added, who

    outcome = await conn.session("connect to the foreign server through our OAuth flow", tools)
    urls = [f"{m} {u} {s}" for m, u, s, _ in conn.exchanges]
    ok(any(m == "POST" and u == MCP and s == 401 for m, u, s, _ in conn.exchanges), "the foreign server's first answer is 401", urls)
    ok(any(m == "POST" and u == f"{BASE}/register" and s == 201 for m, u, s, _ in conn.exchanges), "registered with our authorization server", urls)
    q = parse_qs(urlparse(conn.headless.urls[0]).query) if conn.headless.urls else {}
    ok(q.get("resource") == [MCP], "resource on /authorize names the foreign server", conn.headless.urls)
    tokens = conn.storage.tokens
    claims = claims_of(tokens.access_token) if tokens else {}
    ok(claims.get("aud") == MCP and claims.get("iss") == BASE, "the access token's aud is the foreign server, iss our issuer", claims)
    if outcome:
        listed, added, who = outcome
        ok(sorted(t.name for t in listed.tools) == ["add", "whoami"], "its tools are listed", [t.name for t in listed.tools])
        ok(not added.is_error and (added.structured_content or {}).get("sum") == 42, "tools/call add answers {sum: 42}", str(added))
        ok(not who.is_error and (who.structured_content or {}).get("sub") == claims.get("sub"), "tools/call whoami names the token's user", str(who))

    access = tokens.access_token if tokens else ""
    client_id = conn.storage.client.client_id if conn.storage.client else ""
    async with httpx.AsyncClient(timeout=10) as plain:
        revoked = await plain.post(f"{BASE}/revoke", data={"token": access, "token_type_hint": "access_token", "client_id": client_id})
        ok(revoked.status_code == 200, "RFC 7009 revocation at our /revoke answers 200", revoked.text)
        refused = await plain.post(
            MCP,
            headers={"authorization": f"Bearer {access}", "accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        )
        challenge = refused.headers.get("www-authenticate", "")
        ok(refused.status_code == 401 and 'error="invalid_token"' in challenge, "the foreign server refuses the revoked token at once (401)", f"{refused.status_code} {challenge}")

    again = await conn.session("the SDK recovers from the 401 (new authorization)", lambda c: c.list_tools())
    ok(again is not None and conn.storage.tokens and conn.storage.tokens.access_token != access, "the SDK holds a new access token")
    await conn.http.aclose()
    return done("Python mcp client, TypeScript server behind the facade")


if __name__ == "__main__":
    sys.exit(anyio.run(main))
