// Header rewriting for proxied requests and responses, on Node's flat raw-header arrays (case and
// repeated headers preserved): hop-by-hop headers dropped, X-Forwarded-* set, Host kept as sent.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** RFC 9110 §7.6.1 connection-specific headers (transfer-encoding is handled by the caller). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade']);

/**
 * Lengths of every name acted on here (hop-by-hop, host, content-length, transfer-encoding): a header
 * of another length is copied as it is, without lower-casing its name (most headers, on every request).
 */
const ACTED_ON = new Set([...HOP_BY_HOP, 'host', 'content-length', 'transfer-encoding'].map((n) => n.length));
/** x-forwarded-* names are at least this long ("x-forwarded-" plus one character). */
const XFWD_MIN = 13;

/** The lower-cased name when the proxy may act on it; undefined when it is copied whatever it is. */
function actedOn(name: string, extra: Set<string> | undefined): string | undefined {
  if (extra || ACTED_ON.has(name.length) || (name.length >= XFWD_MIN && (name.charCodeAt(0) | 32) === 120 /* x */)) return name.toLowerCase();
  return undefined;
}

/** Extra hop-by-hop names listed in a Connection header (`Connection: close, X-Foo`). */
function connectionTokens(raw: string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) {
      const n = t.trim().toLowerCase();
      if (n && n !== 'close' && n !== 'keep-alive' && n !== 'upgrade') (out ??= new Set()).add(n);
    }
  }
  return out;
}

export interface OutgoingRequestHeaders {
  headers: string[];
  /** The request carries a body (Content-Length other than 0, or Transfer-Encoding). */
  hasBody: boolean;
}

/**
 * Headers for the upstream request. `upgrade` keeps Connection/Upgrade (a WebSocket handshake needs
 * them). X-Forwarded-For is appended to; Proto, Host and Port keep a value an outer proxy set.
 */
export function requestHeaders(req: IncomingMessage, upgrade: boolean): OutgoingRequestHeaders {
  const raw = req.rawHeaders;
  const extra = upgrade ? undefined : connectionTokens(raw);
  const out: string[] = [];
  let xff: string | undefined, proto: string | undefined, fwdHost: string | undefined, port: string | undefined, host: string | undefined;
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = actedOn(name, extra);
    if (lower === undefined) {
      out.push(name, value);
      continue;
    }
    if (lower.startsWith('x-forwarded-')) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (lower === 'x-forwarded-proto') proto ??= value;
      else if (lower === 'x-forwarded-host') fwdHost ??= value;
      else if (lower === 'x-forwarded-port') port ??= value;
      else out.push(name, value);
      continue;
    }
    if (lower === 'host') host = value;
    else if (lower === 'content-length') hasBody ||= value !== '0';
    // Kept: Node decoded the incoming chunks and re-chunks upstream only when it sees this header.
    else if (lower === 'transfer-encoding') hasBody = true;
    else if (!upgrade && (HOP_BY_HOP.has(lower) || extra?.has(lower))) continue;
    out.push(name, value);
  }
  const remote = req.socket.remoteAddress ?? '';
  proto ??= (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  port ??= hostPort(fwdHost ?? host) ?? (proto === 'https' ? '443' : '80');
  out.push('X-Forwarded-For', xff === undefined ? remote : `${xff}, ${remote}`, 'X-Forwarded-Proto', proto, 'X-Forwarded-Port', port);
  if (fwdHost ?? host) out.push('X-Forwarded-Host', (fwdHost ?? host)!);
  return { headers: out, hasBody };
}

/** The port in a Host header (`example.org:8000`, `[::1]:8000`), if it names one. */
function hostPort(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const colon = host.lastIndexOf(':');
  if (colon < 0 || colon < host.lastIndexOf(']')) return undefined;
  return host.slice(colon + 1) || undefined;
}

/** Upstream response headers minus hop-by-hop ones; Node re-frames the body for our client. */
export function responseHeaders(raw: string[]): string[] {
  const extra = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = actedOn(raw[i]!, extra);
    if (lower !== undefined && (lower === 'transfer-encoding' || HOP_BY_HOP.has(lower) || extra?.has(lower))) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
