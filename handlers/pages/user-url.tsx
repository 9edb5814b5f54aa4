/** @jsxImportSource hono/jsx */
// /hub/user/<name>/<path…>: requests for a server the proxy has no route for (spec B.7), and
// /hub/user-redirect/<path> (spec B.6).
import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../env.ts';
import { Layout } from './layout.tsx';
import { browserUser, hub, loginRedirect } from './session.ts';
import { findUserServer, pageState } from '../../src/state/server.ts';
import { pendingUrl, spawnUrl } from './spawn.tsx';
import { lookUpUser, requestOrigin } from '../lib.ts';
import { grants } from '../../src/auth/scopes.ts';
import { ServiceError, notFound } from '../../src/errors.ts';
import { escapePath } from '../../src/names.ts';

export const userUrlPages = new Hono<AppEnv>();

type C = Context<AppEnv>;

/** JupyterHub's user_redirect_limit: at this many round trips the hub gives up. */
const REDIRECT_LIMIT = 4;
/**
 * Back-off before sending the browser back to a ready server. Shorter than JupyterHub's 2^n s: Berth's
 * proxy re-reads its routes on a miss before falling through, so a missing route heals quickly.
 */
const backoffMs = (redirects: number) => Math.min(250 * 2 ** (redirects - 1), 2000);

/** JupyterHub's get_accepted_mimetype: the first of json/html in the Accept header's q order. */
function wantsJson(accept: string): boolean {
  const ranked = accept
    .split(',')
    .map((part, i) => {
      const [type, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { type: type!.trim().toLowerCase(), q: q ? Number(q) : 1, i };
    })
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked.find((r) => r.type === 'application/json' || r.type === 'text/html')?.type === 'application/json';
}

/** 424 JSON that JupyterLab understands: the server is gone, here is where to restart it. */
function notRunningJson(c: C, pathname: string, user: string, server: string) {
  const h = hub(c);
  const spawn = `${requestOrigin(c)}${h}spawn/${escapePath(user)}${server ? `/${escapePath(server)}` : ''}`;
  const message = `JupyterHub server no longer running at ${pathname.slice(h.length - 1)}. Restart the server at ${spawn}`;
  return c.json({ status: 424, message }, 424);
}

/** A named server is addressed by the path's first segment only when that server exists. */
async function serverNameIn(c: C, userId: number, segments: string[]) {
  const candidate = segments.length >= 3 ? segments[1]! : '';
  if (!candidate || !c.get('ctx').config.hub.allow_named_servers) return '';
  return (await findUserServer(c.get('ctx').db, userId, candidate)) ? candidate : '';
}

const decode = (s: string) => { try { return decodeURIComponent(s); } catch { return undefined; } };

userUrlPages.all('/hub/user/*', async (c) => {
  const ctx = c.get('ctx');
  const h = hub(c);
  const url = new URL(c.req.url);
  const rest = url.pathname.slice(`${h}user/`.length);
  const cut = rest.indexOf('/');
  const userName = decode(cut < 0 ? rest : rest.slice(0, cut));
  if (!userName) throw notFound('Not Found');
  const userPath = cut < 0 ? '/' : rest.slice(cut);
  const segments = userPath.split('/').map((s) => decode(s) ?? s);
  const me = c.get('identity');

  // Anything but GET is an API call to a stopped server: JSON 424, whoever asks (JupyterHub's non_get).
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    const owner = me?.user && me.name === userName ? me.user : undefined;
    return notRunningJson(c, url.pathname, userName, owner ? await serverNameIn(c, owner.id, segments) : '');
  }
  if (!me) return loginRedirect(c);
  const candidates = ['', ...(segments.length >= 3 && segments[1] ? [segments[1]] : [])];
  if (!candidates.some((s) => grants(me.scopes, 'access:servers', { server: `${userName}/${s}` }))) {
    throw notFound('No access to resources or resources not found');
  }
  const user = me.user && me.name === userName ? me.user : await lookUpUser(ctx, userName);
  if (!user) throw notFound(`No such user ${userName}`);
  const serverName = await serverNameIn(c, user.id, segments);
  const server = await findUserServer(ctx.db, user.id, serverName);
  const state = pageState(server);
  const uri = url.pathname + url.search;

  if (state === 'ready') {
    const n = Number.parseInt(url.searchParams.get('redirects') ?? '0', 10);
    const redirects = Number.isFinite(n) && n > 0 ? n : 0;
    if (redirects >= REDIRECT_LIMIT) throw new ServiceError('Unavailable', 'Redirect loop detected.', { status: 500 });
    const target = new URL(`${ctx.config.hub.base_url}${uri.slice(h.length)}`, url);
    if (redirects) await new Promise((r) => setTimeout(r, backoffMs(redirects)));
    target.searchParams.set('redirects', String(redirects + 1));
    return c.redirect(target.pathname + target.search, 302);
  }
  if (wantsJson(c.req.header('accept') ?? '') || segments.includes('api')) return notRunningJson(c, url.pathname, user.name, serverName);
  if (state === 'spawn' || state === 'stop' || state === 'failed') return c.redirect(pendingUrl(h, user.name, serverName, uri), 303);

  const label = serverName ? `${user.name}/${serverName}` : user.name;
  const page = (
    <Layout title="Server not running" hub={h} user={browserUser(c)?.name}>
      <div class="card">
        <h1>Server not running</h1>
        <p>The server {label} is not running. Would you like to start it?</p>
        <a class="button" id="start" href={spawnUrl(h, user.name, serverName, uri)}>Launch server {label}</a>
      </div>
    </Layout>
  );
  return c.html(html`<!doctype html>${page}`, 424);
});

// /hub/user-redirect/<path>: "this file on your own server", e.g. JupyterLab's share links.
userUrlPages.get('/hub/user-redirect/*', (c) => {
  const me = browserUser(c);
  if (!me) return loginRedirect(c);
  const url = new URL(c.req.url);
  const path = url.pathname.slice(`${hub(c)}user-redirect/`.length);
  const target = `${c.get('ctx').config.hub.base_url}user/${escapePath(me.name)}/${path}${url.search}`;
  return c.redirect(spawnUrl(hub(c), me.name, '', target), 302);
});
