// Browser-session helpers shared by the hub pages and the OAuth authorize endpoint: the cookies of
// spec B.4, XSRF checks for forms, "login required" redirects, and safe `next=` targets.
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../env.ts';
import type { Identity } from '../../src/auth/identity.ts';
import { LOGIN_COOKIE, SESSION_COOKIE } from '../../src/auth/identity.ts';
import type { SessionRow } from '../../db/schema/index.ts';
import { ServiceError } from '../../src/errors.ts';
import { sameSecret } from '../../src/auth/tokens.ts';
import { hubPrefix } from '../../src/names.ts';

type C = Context<AppEnv>;

/** The hub's pre-login XSRF cookie (double-submit, path {hub prefix}, as JupyterHub 4.1+). */
export const XSRF_COOKIE = '_xsrf';

export const baseUrl = (c: C) => c.get('ctx').config.hub.base_url;
export const hub = (c: C) => hubPrefix(baseUrl(c));

/** Secure only when the browser came over https (directly, or per the reverse proxy's X-Forwarded-Proto). */
export function isHttps(c: C): boolean {
  const fwd = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return fwd ? fwd === 'https' : new URL(c.req.url).protocol === 'https:';
}

/** Path and query exactly as requested, for `next=` and error messages. */
export function requestUri(c: C): string {
  const u = new URL(c.req.url);
  return u.pathname + u.search;
}

/** The logged-in browser user: cookie authentication only (hub pages never take API tokens). */
export function browserUser(c: C): (Identity & { session: SessionRow }) | undefined {
  const id = c.get('identity');
  return id?.session && id.user ? (id as Identity & { session: SessionRow }) : undefined;
}

export const loginRedirect = (c: C) => c.redirect(`${hub(c)}login?next=${encodeURIComponent(requestUri(c))}`, 302);

/**
 * A `next=` target that stays on this site: a path with exactly one leading slash, no backslash,
 * no control characters or spaces (browsers drop tabs/newlines, turning `/\t/x` into `//x`).
 */
export function safeNext(next: unknown): string | undefined {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//')) return undefined;
  if (/[\\\x00-\x20\x7f]/.test(next)) return undefined;
  return next;
}

export function setLoginCookies(c: C, cookieSecret: string, session: SessionRow) {
  const secure = isHttps(c);
  setCookie(c, LOGIN_COOKIE, cookieSecret, {
    path: hub(c), httpOnly: true, sameSite: 'Lax', secure,
    maxAge: Math.round(c.get('ctx').config.hub.cookie_max_age_days * 86_400),
  });
  setSessionCookie(c, session.sessionId);
  deleteCookie(c, XSRF_COOKIE, { path: hub(c), secure }); // the session's own XSRF token takes over
}

/** jupyterhub-session-id: unsigned uuid hex on the base URL, a browser-session cookie. */
export function setSessionCookie(c: C, sessionId: string) {
  setCookie(c, SESSION_COOKIE, sessionId, { path: baseUrl(c), httpOnly: true, sameSite: 'Lax', secure: isHttps(c) });
}

/** Makes the browser's jupyterhub-session-id agree with the session's (set when missing). */
export function ensureSessionCookie(c: C, session: SessionRow) {
  if (getCookie(c, SESSION_COOKIE) !== session.sessionId) setSessionCookie(c, session.sessionId);
}

export function clearLoginCookies(c: C) {
  const secure = isHttps(c);
  deleteCookie(c, LOGIN_COOKIE, { path: hub(c), secure });
  deleteCookie(c, SESSION_COOKIE, { path: baseUrl(c), secure });
  deleteCookie(c, XSRF_COOKIE, { path: hub(c), secure });
  deleteCookie(c, 'jupyterhub-services', { path: `${baseUrl(c)}services`, secure });
}

/** The pre-login XSRF token, reusing the browser's cookie when it has a well-formed one. */
export function preLoginXsrf(c: C): string {
  const have = getCookie(c, XSRF_COOKIE);
  if (have && /^[A-Za-z0-9_-]{32}$/.test(have)) return have;
  const token = randomBytes(24).toString('base64url');
  setCookie(c, XSRF_COOKIE, token, { path: hub(c), httpOnly: true, sameSite: 'Lax', secure: isHttps(c) });
  return token;
}

/** The `_xsrf` form field (or X-XSRFToken header) must equal `expected`; otherwise 403. */
export function checkXsrf(c: C, form: Record<string, unknown>, expected: string | undefined) {
  const sent = typeof form._xsrf === 'string' ? form._xsrf : c.req.header('x-xsrftoken');
  if (!sent || !expected || !sameSecret(sent, expected)) throw new ServiceError('Forbidden', "'_xsrf' argument missing from POST");
}

/** Form fields as strings (files are ignored). */
export async function formFields(c: C): Promise<Record<string, string>> {
  const ct = c.req.header('content-type') ?? '';
  if (!/application\/x-www-form-urlencoded|multipart\/form-data/i.test(ct)) return {};
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A peer on this machine or a private network: where a reverse proxy in front of Berth sits. */
function proxyPeer(ip: string): boolean {
  const v4 = ip.replace(/^::ffff:/, '');
  return ip === '::1' || /^127\./.test(v4) || /^10\./.test(v4) || /^192\.168\./.test(v4) || /^172\.(1[6-9]|2\d|3[01])\./.test(v4) || /^f[cd]/i.test(ip);
}

/**
 * The client's address for login rate limits. X-Forwarded-For is believed only from a peer that
 * can be the reverse proxy (loopback or a private network), and then its last hop, what that proxy
 * saw; a client on the internet talking to Berth directly cannot pick its own address that way.
 */
export function clientAddress(c: C): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  const peer = incoming?.socket?.remoteAddress;
  const fwd = c.req.header('x-forwarded-for')?.split(',').map((s) => s.trim()).filter(Boolean).at(-1);
  if (fwd && (peer === undefined || proxyPeer(peer))) return fwd.slice(0, 64);
  return peer ?? 'unknown';
}
