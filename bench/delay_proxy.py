"""A loopback proxy that delays every call by a fixed time and counts it (bench/roundtrips.py).

It stands in front of an AWS stand-in (moto) or the managed-login stand-in (oidc-provider), so a
server pointed at it pays a network round trip per call, as on AWS. Each call is recorded with
the operation the driver says is in flight, the service (from the SigV4 credential scope, or
the proxy's own name), the API operation (X-Amz-Target's, or the path) and its start and end.
Standard library only.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass
class Call:
    operation: str  # ours: "register", "code exchange", ...
    service: str  # dynamodb, kms, cognito-idp, ce, managed-login
    api: str  # GetItem, TransactWriteItems, /token, ...
    start: float
    end: float


@dataclass
class Tally:
    """What is in flight, and the calls made meanwhile (a driver runs one operation at a time)."""

    operation: str | None = None
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


class DelayProxy:
    def __init__(self, upstream: str, delay_s: float, tally: Tally, name: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"upstream must be an http URL: {upstream}")
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.delay_s = delay_s
        self.tally = tally
        self.name = name
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> "DelayProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                start = time.monotonic()
                operation = proxy.tally.operation
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                if proxy.delay_s:
                    time.sleep(proxy.delay_s)
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                end = start
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    # The call ends as its answer leaves: the server's next call can only start
                    # after it has read this one.
                    end = time.monotonic()
                    self.send_response(answer.status, answer.reason)
                    for key, value in answer.getheaders():
                        if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    upstream.close()
                if operation is None:
                    return
                scope = _SCOPE.search(self.headers.get("authorization", ""))
                service = proxy.name or (scope.group(1) if scope else "unsigned")
                target = self.headers.get("x-amz-target", "")
                api = target.rsplit(".", 1)[-1] if target else urllib.parse.urlsplit(self.path).path
                proxy.tally.record(Call(operation, service, api, start, end))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler


def sequential(calls: list[Call]) -> int:
    """The calls on the critical path: the longest chain of calls each starting after the
    previous ended (calls that overlap in time ran in parallel and count once)."""
    chain, last_end = 0, float("-inf")
    for call in sorted(calls, key=lambda c: c.end):
        if call.start >= last_end:
            chain, last_end = chain + 1, call.end
    return chain
