"""The Python `mcp` package as an MCP client of `serverless-mcp serve`, with its
`OAuthClientProvider` driven headlessly (an httpx client with cookies walks our consent and login
forms): discovery, dynamic registration, PKCE, `resource`, token; tools/list and tools/call; a
refresh forced the SDK's own way (an expired access token); revocation and the 401 that follows.

TAP output; exit status 1 on any failure. Needs SMCP_BASE, SMCP_USER, SMCP_PASSWORD.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import time
import traceback
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import anyio
import httpx2 as httpx
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

BASE = os.environ.get("SMCP_BASE", "")
USER = os.environ.get("SMCP_USER", "")
PASSWORD = os.environ.get("SMCP_PASSWORD", "")
# The MCP server: ours, or (foreign_client.py) one we did not write behind our authorization server.
MCP = os.environ.get("SMCP_MCP", "") or f"{BASE}/mcp"
REDIRECT = "http://127.0.0.1:53683/callback"

_n = 0
_failed: list[str] = []


def ok(condition: Any, name: str, detail: Any = None) -> bool:
    global _n
    _n += 1
    if condition:
        print(f"ok {_n} - {name}", flush=True)
    else:
        _failed.append(name)
        print(f"not ok {_n} - {name}", flush=True)
        if detail is not None:
            text = detail if isinstance(detail, str) else json.dumps(detail, indent=2, default=str)
            for line in text.splitlines()[:40]:
                print(f"  # {line}", flush=True)
    return bool(condition)


def done(label: str) -> int:
    print(f"1..{_n}")
    print(f"# {label}: {_n - len(_failed)} passed, {len(_failed)} failed")
    if _failed:
        print(f"# failed: {'; '.join(_failed)}")
    return 1 if _failed else 0


# --- the headless browser ---------------------------------------------------------------------

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
TAG = re.compile(r"<(input|button)\b([^>]*)>", re.I)


def _attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\s{name}\s*=\s*"([^"]*)"', tag, re.I)
    return html.unescape(m.group(1)) if m else None


async def walk(authorization_url: str) -> str:
    """Follows the authorization URL through consent and login; returns the redirect that leaves
    the authorization server (the client's redirect_uri with code, state and iss)."""
    origin = urlparse(BASE)
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        url, method, data = authorization_url, "GET", None
        logins = 0
        for _ in range(20):
            response = await browser.request(method, url, data=data, headers={"accept": "text/html"})
            if 300 <= response.status_code < 400:
                location = urljoin(url, response.headers["location"])
                target = urlparse(location)
                if (target.scheme, target.netloc) != (origin.scheme, origin.netloc):
                    return location
                url, method, data = location, "GET", None
                continue
            page = response.text
            form = FORM.search(page)
            if not form:
                raise AssertionError(f"no form at {url} (HTTP {response.status_code}): {page[:400]}")
            fields: dict[str, str] = {}
            buttons: list[str] = []
            for kind, attrs in TAG.findall(form.group(2)):
                name = _attr(attrs, "name")
                if not name:
                    continue
                if kind.lower() == "button":
                    buttons.append(name)
                else:
                    fields[name] = _attr(attrs, "value") or ""
            if "password" in fields:
                logins += 1
                if logins > 1:
                    raise AssertionError(f"login refused: {page[:400]}")
                fields["username"], fields["password"] = USER, PASSWORD
            elif "decision" in buttons:
                fields["decision"] = "approve"
            else:
                raise AssertionError(f"unknown form at {url}: {form.group(0)[:400]}")
            url = urljoin(url, _attr(form.group(1), "action") or url)
            method, data = "POST", fields
    raise AssertionError("too many hops")


class Headless:
    """redirect_handler + callback_handler for OAuthClientProvider."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.callback: str | None = None

    async def redirect(self, url: str) -> None:
        self.urls.append(url)
        self.callback = await walk(url)

    async def result(self) -> AuthorizationCodeResult:
        assert self.callback, "no callback captured"
        query = parse_qs(urlparse(self.callback).query)
        one = lambda k: (query.get(k) or [None])[0]  # noqa: E731
        if one("error"):
            raise AssertionError(f"authorization error: {self.callback}")
        return AuthorizationCodeResult(code=one("code") or "", state=one("state"), iss=one("iss"))


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Connection:
    """The SDK's `OAuthClientProvider` (public client, headless browser, in-memory storage) on an
    httpx client that records every exchange, and `session`, one MCP session through it as a TAP
    check. `client_metadata_url` makes it register through a Client ID Metadata Document."""

    def __init__(self, client_name: str, redirect: str, client_metadata_url: str | None = None):
        self.exchanges: list[tuple[str, str, int, str]] = []
        self.headless = Headless()
        self.storage = MemoryStorage()
        extra = {"client_metadata_url": client_metadata_url} if client_metadata_url else {}
        self.provider = OAuthClientProvider(
            server_url=MCP,
            client_metadata=OAuthClientMetadata(
                client_name=client_name,
                redirect_uris=[redirect],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=self.storage,
            redirect_handler=self.headless.redirect,
            callback_handler=self.headless.result,
            **extra,
        )
        self.http = httpx.AsyncClient(auth=self.provider, timeout=30, event_hooks={"response": [self._record]})

    async def _record(self, response: httpx.Response) -> None:
        request = response.request
        body = request.content.decode(errors="replace") if request.content else ""
        self.exchanges.append((request.method, str(request.url), response.status_code, body))

    async def session(self, label: str, body):
        try:
            async with Client(streamable_http_client(MCP, http_client=self.http)) as client:
                value = await body(client)
            ok(True, label)
            return value
        except Exception as error:  # noqa: BLE001
            ok(False, label, "".join(traceback.format_exception(error)))
            return None


# --- the test ---------------------------------------------------------------------------------


async def main() -> int:
    if not (BASE and USER and PASSWORD):
        print("SMCP_BASE, SMCP_USER and SMCP_PASSWORD must be set (tests/run.sh sets them)", file=sys.stderr)
        return 2

    conn = Connection("interop Python SDK client", REDIRECT)
    exchanges, headless, storage, provider, http, session = (
        conn.exchanges, conn.headless, conn.storage, conn.provider, conn.http, conn.session,
    )

    # 1. the whole flow, then tools
    async def first(client: Client):
        tools = await client.list_tools()
        results = {}
        today = await client.call_tool("get_today_date", {})
        results["get_today_date"] = today
        date = re.search(r"\d{4}-\d{2}-\d{2}", json.dumps(today.structured_content or {}))
        end = date.group(0) if date else time.strftime("%Y-%m-%d")
        start = f"{int(end[:4]) - (1 if int(end[5:7]) <= 2 else 0)}-{((int(end[5:7]) - 3) % 12) + 1:02d}-01"
        results["get_cost_and_usage"] = await client.call_tool(
            "get_cost_and_usage",
            {"start_date": start, "end_date": end, "granularity": "MONTHLY", "group_by": [{"dimension": "SERVICE"}]},
        )
        results["get_dimension_values"] = await client.call_tool(
            "get_dimension_values", {"dimension": "SERVICE", "start_date": start, "end_date": end}
        )
        results["get_cost_forecast"] = await client.call_tool(
            "get_cost_forecast",
            {"start_date": _plus_days(end, 1), "end_date": _plus_days(end, 30), "granularity": "MONTHLY"},
        )
        return tools, results

    outcome = await session("connect through the OAuth flow (discovery, DCR, PKCE, consent, login, token)", first)
    urls = [f"{m} {u} {s}" for m, u, s, _ in exchanges]
    ok(any(m == "POST" and u == MCP and s == 401 for m, u, s, _ in exchanges), "first POST /mcp answered 401", urls)
    ok(any(m == "GET" and "/.well-known/oauth-protected-resource" in u and s == 200 for m, u, s, _ in exchanges), "protected-resource metadata fetched", urls)
    ok(any(m == "GET" and "/.well-known/oauth-authorization-server" in u and s == 200 for m, u, s, _ in exchanges), "authorization-server metadata fetched", urls)
    ok(any(m == "POST" and u == f"{BASE}/register" and s == 201 for m, u, s, _ in exchanges), "dynamic registration answered 201", urls)
    auth_url = urlparse(headless.urls[0]) if headless.urls else None
    q = parse_qs(auth_url.query) if auth_url else {}
    ok(q.get("code_challenge_method") == ["S256"] and q.get("code_challenge"), "PKCE S256 on /authorize", headless.urls)
    ok(q.get("resource") == [MCP], "resource parameter on /authorize", headless.urls)
    token_calls = [(s, b) for m, u, s, b in exchanges if m == "POST" and u == f"{BASE}/token"]
    form = parse_qs(token_calls[0][1]) if token_calls else {}
    ok(token_calls and token_calls[0][0] == 200 and form.get("grant_type") == ["authorization_code"], "authorization_code token request answered 200", token_calls)
    ok(form.get("code_verifier") and form.get("resource") == [MCP], "token request carries code_verifier and resource", form)
    ok(storage.tokens and storage.tokens.refresh_token, "tokens with a refresh token stored", str(storage.tokens))

    if outcome:
        tools, results = outcome
        names = [t.name for t in tools.tools]
        ok(len(names) >= 10 and "get_cost_and_usage" in names, f"tools/list lists the Cost Explorer tools ({len(names)})", names)
        for name, result in results.items():
            ok(
                not result.is_error and isinstance(result.structured_content, dict) and result.structured_content,
                f"tools/call {name} answers structuredContent",
                result.model_dump(mode="json") if hasattr(result, "model_dump") else str(result),
            )

    # 2. refresh, the SDK's own way: the access token has expired
    before = storage.tokens
    provider.context.token_expiry_time = time.time() - 1
    listed = await session("tools/list after the access token expired (SDK refreshes)", lambda c: c.list_tools())
    refreshes = [(s, b) for m, u, s, b in exchanges if m == "POST" and u == f"{BASE}/token" and "grant_type=refresh_token" in b]
    ok(refreshes and refreshes[-1][0] == 200, "refresh_token grant answered 200", refreshes)
    ok(storage.tokens and before and storage.tokens.access_token != before.access_token, "new access token after refresh")
    ok(storage.tokens and before and storage.tokens.refresh_token != before.refresh_token, "refresh token rotated")
    ok(len(headless.urls) == 1, "no second browser round trip for the refresh", headless.urls)
    ok(listed is not None and len(listed.tools) >= 10, "tools/list works with the refreshed token")

    # 3. revocation of the access token, then the 401
    access = storage.tokens.access_token if storage.tokens else ""
    client_id = storage.client.client_id if storage.client else ""
    async with httpx.AsyncClient(timeout=10) as plain:
        revoked = await plain.post(f"{BASE}/revoke", data={"token": access, "token_type_hint": "access_token", "client_id": client_id})
        ok(revoked.status_code == 200, "POST /revoke of the access token answers 200", revoked.text)
        refused = await plain.post(
            MCP,
            headers={"authorization": f"Bearer {access}", "accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        )
        challenge = refused.headers.get("www-authenticate", "")
        ok(refused.status_code == 401 and 'error="invalid_token"' in challenge, "the revoked access token gets 401 invalid_token", f"{refused.status_code} {challenge}")

    # The SDK meets that 401 and recovers on its own (full re-authorization through the browser).
    again = await session("the SDK recovers from the 401 after revocation", lambda c: c.list_tools())
    ok(again is not None and storage.tokens and storage.tokens.access_token != access, "the SDK holds a new access token")

    await http.aclose()
    return done("Python mcp client (DCR)")


def _plus_days(day: str, days: int) -> str:
    t = time.strptime(day, "%Y-%m-%d")
    return time.strftime("%Y-%m-%d", time.gmtime(time.mktime(t) + days * 86400 + 12 * 3600))


if __name__ == "__main__":
    sys.exit(anyio.run(main))
