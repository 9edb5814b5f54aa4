// Builds the Hono app: version header, caller identity, one error mapper, and one sub-app per
// resource. The proxy (src/proxy) sits in front of this app at the Node server level.
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import type { AppContext } from '../src/context.ts';
import type { AppEnv } from './env.ts';
import { ServiceError } from '../src/errors.ts';
import { identityFromCookie, identityFromToken, LOGIN_COOKIE } from '../src/auth/identity.ts';
import { sameSecret, tokenFromHeader } from '../src/auth/tokens.ts';
import { escapeHtml } from '../src/html.ts';
import { noteTokenUse } from '../src/services/tokens/touch.ts';
import { rootApi } from './api/root.ts';
import { userApi } from './api/user.ts';
import { usersApi } from './api/users.ts';
import { serversApi } from './api/servers.ts';
import { progressApi } from './api/progress.ts';
import { activityApi } from './api/activity.ts';
import { tokensApi } from './api/tokens.ts';
import { oauthApi } from './api/oauth.ts';
import { workerApi } from './api/worker.ts';
import { webhooksApi } from './api/webhooks.ts';
import { groupsApi } from './api/groups.ts';
import { pages } from './pages/index.tsx';
import { API_HEADERS, PAGE_HEADERS } from './headers.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const MAX_BODY = 1024 * 1024;

export function createApp(ctx: AppContext) {
  const base = ctx.config.hub.base_url.replace(/\/$/, '');
  const app = new Hono<AppEnv>({ strict: false });
  const hub = base ? app.basePath(base) : app;

  app.use('*', async (c, next) => {
    c.set('ctx', ctx);
    c.set('identity', undefined);
    // set before the response exists, so they ride along as it is made (touching a made response's
    // headers would make the Node adapter build a full Response); a page with a stricter policy
    // (the consent page) replaces it with its own c.header
    const p = c.req.path;
    const api = p === `${base}/hub/api` || p.startsWith(`${base}/hub/api/`);
    for (const [k, v] of Object.entries(api ? API_HEADERS : PAGE_HEADERS)) c.header(k, v);
    await next();
    c.header('X-JupyterHub-Version', ctx.config.hub.api_version);
  });

  // The hub's own requests are small JSON and forms; uploads go through the proxy to the user's server.
  hub.use('/hub/*', bodyLimit({
    maxSize: MAX_BODY,
    onError: () => { throw new ServiceError('Invalid', `Request body too large (the limit is ${MAX_BODY / 1024} KiB)`, { status: 413 }); },
  }));

  // Identity: the Authorization header first (token or bearer), then the hub login cookie.
  // Cookie-authenticated API writes must carry the session's XSRF token (JupyterHub 4.1+).
  hub.use('/hub/*', async (c, next) => {
    const token = tokenFromHeader(c.req.header('authorization')); // never ?token= (spec B.2)
    if (token) {
      const id = await identityFromToken(ctx, token);
      if (id) void noteTokenUse(ctx, id); // throttled, fire-and-forget: never delays the request
      c.set('identity', id);
    } else {
      const id = await identityFromCookie(ctx, getCookie(c, LOGIN_COOKIE));
      const isApi = c.req.path.startsWith(`${base}/hub/api/`);
      if (id && isApi && !SAFE_METHODS.has(c.req.method) && !sameSecret(c.req.header('x-xsrftoken') ?? '', id.session!.xsrf)) {
        c.set('identity', undefined); // a cross-site write rides no cookie
      } else {
        c.set('identity', id);
      }
    }
    await next();
  });

  hub.route('/hub/api', rootApi);
  hub.route('/hub/api', userApi);
  hub.route('/hub/api', usersApi);
  hub.route('/hub/api', serversApi);
  hub.route('/hub/api', progressApi);
  hub.route('/hub/api', activityApi);
  hub.route('/hub/api', tokensApi);
  hub.route('/hub/api', oauthApi);
  hub.route('/hub/api', workerApi);
  hub.route('/hub/api', webhooksApi);
  hub.route('/hub/api', groupsApi);
  hub.route('/', pages);

  app.notFound((c) => {
    if (c.req.path.startsWith(`${base}/hub/api`)) return c.json({ status: 404, message: 'Not Found' }, 404);
    return c.html(errorPage(404, 'Not Found'), 404);
  });

  app.onError((err, c) => {
    const isApi = c.req.path.startsWith(`${base}/hub/api`);
    let status = 500;
    let message = 'Internal Server Error';
    let headers: Record<string, string> = {};
    // drizzle wraps what a statement threw (e.g. the database-busy ServiceError) in its own error.
    const known = err instanceof ServiceError ? err : err instanceof Error && err.cause instanceof ServiceError ? err.cause : undefined;
    if (known) {
      status = known.status;
      message = known.message;
      headers = known.headers;
    } else if (err instanceof HTTPException) {
      status = err.status;
      message = err.message || (status === 413 ? 'Request body too large' : 'Bad Request');
    } else {
      ctx.log.error('unhandled error', { path: c.req.path, method: c.req.method, error: String(err), stack: (err as Error).stack });
    }
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    c.header('X-JupyterHub-Version', ctx.config.hub.api_version);
    if (isApi) return c.json({ status, message }, status as 400);
    return c.html(errorPage(status, message), status as 400);
  });

  return app;
}

export function errorPage(status: number, message: string) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${status} — Berth</title></head><body><h1>${status}</h1><p>${escapeHtml(message)}</p><p><a href="/hub/home">Home</a></p></body></html>`;
}

export type App = ReturnType<typeof createApp>;
