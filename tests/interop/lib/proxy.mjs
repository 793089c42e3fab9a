// A loopback reverse proxy that adds `Authorization: Bearer <token>` to every request, for test
// tools that cannot obtain a token themselves (the conformance `server` command). It is
// transparent otherwise: a Host or Origin naming the proxy itself is rewritten to the target's,
// anything else (e.g. the DNS-rebinding scenario's evil Host/Origin) is passed through as sent.
import http from 'node:http';

export function startProxy({ target, token }) {
  const upstream = new URL(target);
  // Requests still open upstream (an SSE stream the client left open): ended on close, so a
  // remote server's streams do not keep this process alive.
  const open = new Set();
  const server = http.createServer((req, res) => {
    const self = `127.0.0.1:${server.address().port}`;
    const headers = { ...req.headers };
    if (!headers.host || headers.host === self) headers.host = upstream.host;
    if (headers.origin === `http://${self}`) headers.origin = upstream.origin;
    headers.authorization = `Bearer ${token}`;
    delete headers.connection;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    open.add(forward);
    forward.on('close', () => open.delete(forward));
    forward.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy error: ${error.message}`);
    });
    req.pipe(forward);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}${upstream.pathname}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            for (const forward of open) forward.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
