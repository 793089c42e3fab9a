"""moto's server, handling one request at a time.

Stock moto_server checks conditions and writes in separate steps on a threaded server, so
concurrent conditional writes can both succeed and atomic counters can lose updates. Real
DynamoDB applies each item write atomically; serialising requests makes the stand-in match
that guarantee, which the store's contract tests rely on.

Usage: python moto_server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serialized(environ, start_response):
    with lock:
        # Materialise the body inside the lock: the response is produced lazily otherwise.
        return list(app(environ, start_response))


if __name__ == "__main__":
    run_simple(
        sys.argv[1],
        int(sys.argv[2]),
        serialized,
        threaded=True,
        request_handler=MotoRequestHandler,
    )
