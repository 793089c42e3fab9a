"""Tokens for the load test, obtained through the real flow of a running `serverless-mcp serve`:
one dynamic registration, then per family /authorize -> consent -> embedded login -> /callback
-> /token. Standard library only. Prints JSON: client_id, access_token, refresh_tokens (one
refresh-token family per entry, for one wrk connection each).

Usage: python3 tokens.py BASE_URL USERNAME PASSWORD FAMILIES
"""

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

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
TAG = re.compile(r"<(input|button)\b([^>]*)>", re.I)
REDIRECT = "http://127.0.0.1:9/callback"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(method, url, data=None, headers=None, cookies=None):
    """One request, redirects not followed; returns (status, headers, body) and absorbs cookies."""
    headers = dict(headers or {})
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(req, timeout=10) as response:
            status, got, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, got, body = error.code, error.headers, error.read()
    if cookies is not None:
        for line in got.get_all("Set-Cookie") or []:
            name, _, value = line.split(";", 1)[0].partition("=")
            cookies[name.strip()] = value.strip()
    return status, got, body.decode("utf-8", "replace")


def attr(tag, name):
    m = re.search(rf'\s{name}\s*=\s*"([^"]*)"', tag, re.I)
    return html.unescape(m.group(1)) if m else None


def walk(base, url, user, password):
    """Consent and log in like a browser; returns the redirect to the client."""
    cookies = {}
    method, data = "GET", None
    for _ in range(20):
        status, headers, page = request(method, url, data, {"Accept": "text/html"}, cookies)
        if 300 <= status < 400:
            location = urllib.parse.urljoin(url, headers["Location"])
            if not location.startswith(base):
                return location
            url, method, data = location, "GET", None
            continue
        form = FORM.search(page)
        if not form:
            raise SystemExit(f"tokens.py: no form at {url} (HTTP {status}): {page[:300]}")
        fields, buttons = {}, []
        for kind, attrs in TAG.findall(form.group(2)):
            name = attr(attrs, "name")
            if name and kind.lower() == "button":
                buttons.append(name)
            elif name:
                fields[name] = attr(attrs, "value") or ""
        if "password" in fields:
            fields["username"], fields["password"] = user, password
        elif "decision" in buttons:
            fields["decision"] = "approve"
        else:
            raise SystemExit(f"tokens.py: unknown form at {url}")
        url = urllib.parse.urljoin(url, attr(form.group(1), "action") or url)
        method, data = "POST", urllib.parse.urlencode(fields).encode()
    raise SystemExit("tokens.py: too many hops")


def post_json(url, body):
    status, _, text = request(
        "POST", url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    return status, text


def main():
    base, user, password, families = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    resource = f"{base}/mcp"
    status, text = post_json(
        f"{base}/register",
        {
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "load test",
        },
    )
    if status != 201:
        raise SystemExit(f"tokens.py: /register answered {status}: {text}")
    client_id = json.loads(text)["client_id"]
    out = {"client_id": client_id, "access_token": None, "refresh_tokens": []}
    for _ in range(families):
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": secrets.token_urlsafe(8),
                "resource": resource,
            }
        )
        back = walk(base, f"{base}/authorize?{query}", user, password)
        code = urllib.parse.parse_qs(urllib.parse.urlparse(back).query).get("code", [None])[0]
        if not code:
            raise SystemExit(f"tokens.py: no code in {back.split('?')[0]}")
        form = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "client_id": client_id,
                "resource": resource,
            }
        ).encode()
        status, _, text = request(
            "POST", f"{base}/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 200:
            raise SystemExit(f"tokens.py: /token answered {status}")
        tokens = json.loads(text)
        out["access_token"] = out["access_token"] or tokens["access_token"]
        out["refresh_tokens"].append(tokens["refresh_token"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
