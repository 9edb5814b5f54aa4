// In `berth proxy` the hub's own requests (pages, REST API, OAuth, the servers' token checks) go over
// HTTP to the api process. While the api restarts, a request without a body waits for it to answer
// again (up to HOLD_MS) instead of failing; one with a body, whose bytes are already spent, gets a 503
// that says so. Users' servers are not on this path: their traffic never depends on the api.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { escapeHtml } from '../html.ts';
import { Forwarder, type Upstream } from './forward.ts';
import { parseTarget } from './routes.ts';
import { dialable, httpUrl } from '../net.ts';

const HOLD_MS = 15_000;
const RETRY_MS = 100;
/** Never connected: nothing reached the api, so any request may be sent again. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** The api went away mid-request: only a safe method may be sent again. */
const CUT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface HubUpstream {
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): void;
}

/** `http://<hub_ip>:<hub_port>` unless hub.api_url says otherwise (a wildcard listen address is dialled on loopback). */
export function apiUrl(config: AppContext['config']): string {
  if (config.hub.api_url) return config.hub.api_url.replace(/\/$/, '');
  return httpUrl(dialable(config.hub.hub_ip), config.hub.hub_port, '');
}

export function hubUpstream(ctx: AppContext, url: string): HubUpstream {
  const target = parseTarget(url);
  if (!target) throw new ServiceError('Invalid', `hub.api_url ${url} is not an http(s) URL: set it to where \`berth api\` listens`);
  const since = new WeakMap<IncomingMessage, number>();
  let warnedAt = 0;
  const forwarder: Forwarder<Upstream> = new Forwarder<Upstream>({
    onSuccess: () => {},
    onUnreachable: (up, req, res, err) => {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const first = since.get(req) ?? Date.now();
      const bodyless = !req.headers['content-length'] && !req.headers['transfer-encoding'];
      const replayable = NOT_SENT.has(code) || (CUT.has(code) && SAFE.has(req.method ?? ''));
      if (bodyless && replayable && Date.now() - first < HOLD_MS && !res.destroyed) {
        since.set(req, first);
        setTimeout(() => { if (!res.destroyed) forwarder.forward(req, res, up); }, RETRY_MS).unref();
        return;
      }
      if (Date.now() - warnedAt > 5000) {
        warnedAt = Date.now();
        ctx.log.warn('proxy: the api is not answering', { api: url, error: String(err) });
      }
      sendDown(ctx, req, res, url);
    },
  });
  return {
    handle: (req, res) => forwarder.forward(req, res, target),
    close: () => forwarder.close(),
  };
}

function sendDown(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: string) {
  const message = `The hub is not answering at ${url} (it may be restarting); try again in a moment.`;
  const isApi = (req.url ?? '').startsWith(`${ctx.config.hub.base_url}hub/api`);
  const body = isApi ? JSON.stringify({ status: 503, message }) : `<!doctype html><html><head><meta charset="utf-8"><title>503 — Berth</title></head><body><h1>503: Service Unavailable</h1><p>${escapeHtml(message)}</p></body></html>`;
  res.writeHead(503, { 'Content-Type': isApi ? 'application/json' : 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Retry-After': '2', 'X-JupyterHub-Version': ctx.config.hub.api_version });
  res.end(body);
}
