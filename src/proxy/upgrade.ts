// WebSocket (any Upgrade) pass-through: the handshake is written raw to a TCP connection to the
// server (or service), then the two sockets are piped. No per-message work; activity comes from byte counters.
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { requestHeaders } from './headers.ts';
import { connectTimeout, type Upstream } from './forward.ts';

export interface UpgradeHooks<T extends Upstream> {
  /** The server answered 101: the tunnel is open (the caller tracks it for activity). */
  onOpen(route: T, client: net.Socket): void;
  onUnreachable(route: T, err: Error): void;
}

const SWITCHING = Buffer.from('HTTP/1.1 101');

export function rawStatus(status: number, text: string): string {
  return `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

export function tunnel<T extends Upstream>(req: IncomingMessage, client: Duplex, head: Buffer, route: T, hooks: UpgradeHooks<T>) {
  const opts = { host: route.host, port: route.port };
  const up = connectTimeout(route.protocol === 'https:' ? tls.connect({ ...opts, servername: net.isIP(route.host) ? undefined : route.host, rejectUnauthorized: route.verifyTls === true }) : net.connect(opts));
  const { headers } = requestHeaders(req, true);
  let lines = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
  // Writes before 'connect' are queued by the socket, so the handshake goes out as soon as it connects.
  up.write(lines + '\r\n');
  if (head.length) up.write(head);

  const sock = client as net.Socket;
  let answered = false;
  up.once('connect', () => {
    up.setNoDelay(true);
    up.setKeepAlive(true, 30_000);
  });
  sock.setNoDelay?.(true);
  sock.setKeepAlive?.(true, 30_000);

  // Peek at the first bytes only, to tell an accepted handshake (activity) from a refusal.
  up.once('data', (first: Buffer) => {
    answered = true;
    client.write(first);
    if (first.subarray(0, SWITCHING.length).equals(SWITCHING)) hooks.onOpen(route, sock);
    up.pipe(client);
  });
  client.pipe(up);

  up.on('error', (err) => {
    if (!answered && client.writable) {
      hooks.onUnreachable(route, err);
      client.end(rawStatus(503, 'Service Unavailable'), () => client.destroy());
    } else {
      client.destroy();
    }
  });
  client.on('error', () => up.destroy());
  up.on('close', () => release(client));
  client.on('close', () => release(up));
}

/** One side is gone: end the other gracefully (its buffered bytes still go out), then free it. */
function release(s: Duplex) {
  if (s.destroyed) return;
  if (s.writableFinished) {
    s.destroy();
    return;
  }
  s.once('finish', () => s.destroy());
  if (!s.writableEnded) s.end();
}
