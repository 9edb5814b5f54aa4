// The one upstream every proxy in the proxy bench forwards to: a Node http server with a ~200 B body at
// /user/<name>/small, a 64 KiB body at /user/<name>/big and a WebSocket echo on any path. Bodies are
// built once, so the upstream costs the same whichever proxy is in front. Prints {"port"} when listening.
//   node --import tsx test/bench/proxy-upstream.ts
import http from 'node:http';
import { WebSocketServer } from 'ws';

const small = Buffer.from(JSON.stringify({ name: 'notebook.ipynb', type: 'notebook', writable: true, last_modified: '2026-12-02T18:00:00Z', mimetype: null, pad: 'x'.repeat(72) }));
const big = Buffer.alloc(64 * 1024, 'x');
const smallHeaders = { 'content-type': 'application/json', 'content-length': small.length };
const bigHeaders = { 'content-type': 'application/octet-stream', 'content-length': big.length };

const server = http.createServer((req, res) => {
  const isBig = req.url!.endsWith('/big');
  res.writeHead(200, isBig ? bigHeaders : smallHeaders);
  res.end(isBig ? big : small);
});
// Longer than any run: the proxies' pooled connections are not closed under them mid-figure.
server.keepAliveTimeout = 120_000;
new WebSocketServer({ server, perMessageDeflate: false }).on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
