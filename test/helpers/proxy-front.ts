// The Node server `berth serve` puts in front: the proxy first, the hub app for everything else,
// WebSocket upgrades the proxy does not take answered 404. For tests that drive the proxy over sockets.
import http from 'node:http';
import type { Proxy } from '../../src/proxy/index.ts';

export function proxyFront(proxy: Proxy, hub: http.RequestListener): http.Server {
  const front = http.createServer((req, res) => {
    if (!proxy.handleRequest(req, res)) void hub(req, res);
  });
  front.on('upgrade', (req, socket, head) => {
    if (!proxy.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  return front;
}
