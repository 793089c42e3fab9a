"""A recording proxy in front of the AWS stand-in (moto): one loopback listener per identity.

Each function (and the admin CLI) gets its own listener as AWS_ENDPOINT_URL. Every request is
forwarded unchanged to the upstream endpoint and its answer relayed unchanged; one JSON line per
call is appended to the log: the identity, the signing service (from the SigV4 credential scope),
the operation (from X-Amz-Target) and the request body. tests/iam/check.py evaluates the log
against deploy/template.yaml.

Used as a library by tests/lambda/e2e.py (`Recorder(...).start()` / `.stop()`); standard library
only. The log holds test credentials' access key ids and request bodies of a throwaway moto
account, never the secret keys.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


class Recorder:
    def __init__(self, upstream: str, log_path: Path, identities: list[str]) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"upstream must be an http URL: {upstream}")
        self.upstream = (parsed.hostname, parsed.port or 80)
        self.log_path = log_path
        self.lock = threading.Lock()
        self.servers: dict[str, ThreadingHTTPServer] = {}
        self.threads: list[threading.Thread] = []
        log_path.write_text("")
        for identity in identities:
            self.servers[identity] = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(identity))
            self.servers[identity].daemon_threads = True

    def endpoint(self, identity: str) -> str:
        host, port = self.servers[identity].server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Recorder":
        for server in self.servers.values():
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)

    def calls(self) -> list[dict]:
        with self.lock:
            text = self.log_path.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def _record(self, entry: dict) -> None:
        line = json.dumps(entry, sort_keys=True)
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _handler(self, identity: str):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the call log is the record
                pass

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("transfer-encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def _any(self) -> None:
                body = self._body()
                scope = _SCOPE.search(self.headers.get("authorization", ""))
                target = self.headers.get("x-amz-target", "")
                try:
                    parsed = json.loads(body) if body else {}
                except ValueError:
                    parsed = {"_raw": body[:2000].decode("utf-8", "replace")}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                conn = http.client.HTTPConnection(*recorder.upstream, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    payload = answer.read()
                    status, reply_headers = answer.status, answer.getheaders()
                finally:
                    conn.close()
                recorder._record({
                    "identity": identity,
                    "access_key": scope.group(1) if scope else None,
                    "region": scope.group(2) if scope else None,
                    "service": scope.group(3) if scope else None,
                    "operation": target.rsplit(".", 1)[-1] if target else None,
                    "method": self.command,
                    "path": self.path,
                    "status": status,
                    "body": parsed,
                })
                self.send_response(status)
                for k, v in reply_headers:
                    if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

        return Handler
