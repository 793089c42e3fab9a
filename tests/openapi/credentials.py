"""Credentials for the schemathesis run (tests/openapi/run.sh): registers a client, walks the
authorization code flow through the consent and login pages of `serverless-mcp serve` as a
browser would, and prints, one `NAME=value` a line:

- OPENAPI_CLIENT_ID, OPENAPI_REGISTRATION_TOKEN: a client and its RFC 7592 registration access
  token, so the client configuration endpoint is exercised past its 401 (read and update);
- OPENAPI_DISPOSABLE_CLIENT_ID, OPENAPI_DISPOSABLE_REGISTRATION_TOKEN: another one, for delete;
- OPENAPI_ACCESS_TOKEN: an access token for the MCP endpoint, so /mcp is exercised past its 401;
- OPENAPI_CONFIDENTIAL_ID, OPENAPI_CONFIDENTIAL_SECRET: a `client_secret_basic` client, so /token
  and /revoke are exercised past client authentication.

Usage: credentials.py BASE_URL USERNAME PASSWORD   (standard library only)
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

REDIRECT_URI = "http://127.0.0.1:9/cb"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


def main() -> int:
    base, username, password = sys.argv[1:4]
    browser = urllib.request.build_opener(
        NoRedirect(), urllib.request.HTTPCookieProcessor(CookieJar())
    )

    def send(method: str, url: str, data: dict | bytes | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with browser.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def registered(auth_method: str = "none") -> dict:
        metadata = {
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": auth_method,
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "schemathesis",
        }
        status, _, body = send(
            "POST",
            f"{base}/register",
            json.dumps(metadata).encode(),
            {"content-type": "application/json"},
        )
        if status != 201:
            raise SystemExit(f"registration failed: {status} {body}")
        return json.loads(body)

    # One client for the flow, one whose registration the fuzzer reads and changes, one it
    # deletes (so that the first deletion does not turn every later read into a 401).
    flow_client = registered()
    fuzzed_client = registered()
    disposable_client = registered()
    # A confidential client whose credentials go into /token and /revoke (HTTP Basic), so those
    # operations are exercised past client authentication, down to the grant checks.
    confidential_client = registered("client_secret_basic")

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": flow_client["client_id"],
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "scope": "costs:read",
            "state": "openapi",
        }
    )
    url, method, data = f"{base}/authorize?{query}", "GET", None
    code = None
    for _ in range(10):
        status, headers, page = send(method, url, data)
        location = headers.get("Location") or headers.get("location")
        if 300 <= status < 400 and location:
            target = urllib.parse.urljoin(url, location)
            if target.startswith(REDIRECT_URI):
                params = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
                if "code" not in params:
                    raise SystemExit(f"authorization failed: {target}")
                code = params["code"][0]
                break
            url, method, data = target, "GET", None
            continue
        form = re.search(r"<form\b([^>]*)>(.*?)</form>", page, re.S | re.I)
        if status >= 400 or not form:
            raise SystemExit(f"unexpected page at {url}: {status} {page[:300]}")
        fields = {}
        for attrs in re.findall(r"<input\b([^>]*)>", form.group(2), re.I):
            name = re.search(r'\sname="([^"]*)"', attrs)
            value = re.search(r'\svalue="([^"]*)"', attrs)
            if name:
                fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
        if "password" in fields:
            fields["username"], fields["password"] = username, password
        else:
            fields["decision"] = "approve"
        action = re.search(r'\saction="([^"]*)"', form.group(1))
        url = urllib.parse.urljoin(url, html.unescape(action.group(1)) if action else url)
        method, data = "POST", fields
    if code is None:
        raise SystemExit("the authorization flow did not end at the redirect URI")

    status, _, body = send(
        "POST",
        f"{base}/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": flow_client["client_id"],
        },
    )
    if status != 200:
        raise SystemExit(f"token request failed: {status} {body}")
    tokens = json.loads(body)
    print(f"OPENAPI_CLIENT_ID={fuzzed_client['client_id']}")
    print(f"OPENAPI_REGISTRATION_TOKEN={fuzzed_client['registration_access_token']}")
    print(f"OPENAPI_DISPOSABLE_CLIENT_ID={disposable_client['client_id']}")
    print(f"OPENAPI_DISPOSABLE_REGISTRATION_TOKEN={disposable_client['registration_access_token']}")
    print(f"OPENAPI_ACCESS_TOKEN={tokens['access_token']}")
    print(f"OPENAPI_CONFIDENTIAL_ID={confidential_client['client_id']}")
    print(f"OPENAPI_CONFIDENTIAL_SECRET={confidential_client['client_secret']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
