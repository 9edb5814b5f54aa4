// HTTP forwarding to a user's server: full original path and query, bodies streamed both ways,
// keep-alive connections per target, 503 when the server cannot be reached.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { requestHeaders, responseHeaders } from './headers.ts';

export const CONNECT_TIMEOUT_MS = 5000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Destroys a socket that has not connected within CONNECT_TIMEOUT_MS (no timeout once connected: long polls). */
export function connectTimeout(socket: net.Socket): net.Socket {
  const timer = setTimeout(() => {
    socket.destroy(Object.assign(new Error(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }));
  }, CONNECT_TIMEOUT_MS);
  const clear = () => clearTimeout(timer);
  socket.once('connect', clear);
  socket.once('close', clear);
  return socket;
}

// Keep-alive agents whose new connections carry a connect timeout. maxSockets is per target.
class HttpAgent extends http.Agent {
  override createConnection(options: net.NetConnectOpts): Duplex {
    const s = net.createConnection(options);
    s.setNoDelay(true);
    return connectTimeout(s);
  }
}
class HttpsAgent extends https.Agent {
  override createConnection(options: tls.ConnectionOptions): Duplex {
    return connectTimeout(tls.connect(options));
  }
}

/** Where a request goes: a user's server (a Route) or, in `berth proxy`, the api. */
export interface Upstream {
  protocol: 'http:' | 'https:';
  host: string;
  port: number;
  /**
   * Check an https upstream's certificate. User containers answer with whatever certificate the
   * image has (unchecked, as configurable-http-proxy does); a service may be another machine, so its is checked.
   */
  verifyTls?: boolean;
}

export interface ForwardHooks<T extends Upstream> {
  /** The response had a status below 300 (configurable-http-proxy's rule for activity). */
  onSuccess(route: T): void;
  /** The server refused, reset or did not answer the connection. */
  onUnreachable(route: T, req: http.IncomingMessage, res: http.ServerResponse, err: Error): void;
}

export class Forwarder<T extends Upstream> {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  private readonly httpsVerified: HttpsAgent;

  constructor(private readonly hooks: ForwardHooks<T>, opts: { maxSocketsPerTarget?: number } = {}) {
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSocketsPerTarget ?? 256, maxFreeSockets: 64, scheduling: 'lifo' as const };
    this.http = new HttpAgent(agentOpts);
    this.https = new HttpsAgent({ ...agentOpts, rejectUnauthorized: false });
    this.httpsVerified = new HttpsAgent({ ...agentOpts, rejectUnauthorized: true });
  }

  forward(req: http.IncomingMessage, res: http.ServerResponse, route: T) {
    const { headers, hasBody } = requestHeaders(req, false);
    this.send(req, res, route, headers, hasBody, true);
  }

  close() {
    this.http.destroy();
    this.https.destroy();
    this.httpsVerified.destroy();
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, route: T, headers: string[], hasBody: boolean, mayRetry: boolean) {
    const isHttps = route.protocol === 'https:';
    const up = (isHttps ? https : http).request({
      host: route.host, port: route.port, method: req.method, path: req.url, headers, setHost: false,
      agent: isHttps ? (route.verifyTls ? this.httpsVerified : this.https) : this.http,
    });
    let responded = false;

    up.on('response', (upRes) => {
      responded = true;
      const status = upRes.statusCode ?? 502;
      upRes.on('error', () => res.destroy());
      res.writeHead(status, upRes.statusMessage, responseHeaders(upRes.rawHeaders));
      upRes.pipe(res);
    });

    up.on('error', (err: NodeJS.ErrnoException) => {
      if (res.destroyed || res.writableEnded) return; // the client left first; nothing to report
      if (responded || res.headersSent) {
        res.destroy();
        return;
      }
      // A keep-alive socket the server closed just as we reused it: one fresh try when replay is safe.
      if (mayRetry && !hasBody && up.reusedSocket && err.code === 'ECONNRESET' && IDEMPOTENT.has(req.method ?? '')) {
        res.off('close', onClose);
        this.send(req, res, route, headers, hasBody, false);
        return;
      }
      this.hooks.onUnreachable(route, req, res, err);
    });

    const onClose = () => {
      if (!res.writableFinished) up.destroy(); // client aborted: stop the upstream work too
      else if (responded && res.statusCode < 300) this.hooks.onSuccess(route);
    };
    res.on('close', onClose);

    if (hasBody) req.pipe(up);
    else up.end();
  }
}
