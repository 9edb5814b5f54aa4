// The OAuth 2 provider single-user servers use (spec B.3): /hub/api/oauth2/authorize (browser,
// cookie authentication only) and /hub/api/oauth2/token (the server, client secret = its API token).
import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../env.ts';
import { identityFromCookie, LOGIN_COOKIE } from '../../src/auth/identity.ts';
import { ServiceError } from '../../src/errors.ts';
import { authorize, type AuthorizeParams } from '../../src/services/oauth/authorize.ts';
import { exchangeCode } from '../../src/services/oauth/exchange.ts';
import { checkXsrf, ensureSessionCookie, formFields, hub, requestUri } from '../pages/session.ts';
import { ConsentPage } from '../pages/consent.tsx';
import { ErrorPage } from '../pages/layout.tsx';

export const oauthApi = new Hono<AppEnv>();

const PARAMS = ['client_id', 'redirect_uri', 'response_type', 'state', 'scope', 'code_challenge', 'code_challenge_method'] as const;

async function authorizeHandler(c: Context<AppEnv>) {
  const ctx = c.get('ctx');
  // cookie only: an Authorization header must not stand in for the browser's login. The app already
  // resolved the cookie unless a token header took precedence or it dropped a POST's cookie (no header XSRF)
  const resolved = c.get('identity');
  const me = resolved?.session ? resolved : await identityFromCookie(ctx, getCookie(c, LOGIN_COOKIE));
  if (!me?.session || !me.user) return c.redirect(`${hub(c)}login?next=${encodeURIComponent(requestUri(c))}`, 302);
  const form = c.req.method === 'POST' ? await formFields(c) : {};
  const params: AuthorizeParams = {};
  for (const k of PARAMS) params[k] = c.req.query(k) ?? form[k];
  try {
    if (c.req.method === 'POST') checkXsrf(c, form, me.session.xsrf);
    ensureSessionCookie(c, me.session);
    const result = await authorize({
      ctx, input: { user: me.user, scopes: me.scopes, sessionId: me.session.sessionId, params, confirmed: c.req.method === 'POST' },
    });
    if (result.kind === 'redirect') return c.redirect(result.location, 302);
    const page = ConsentPage({
      hub: hub(c), user: me.name, action: requestUri(c), xsrf: me.session.xsrf,
      clientName: result.client.description, serverUrl: result.serverUrl, scopes: result.scopes,
    });
    // consent must be a deliberate click on the hub's own page, never through someone's frame
    c.header('X-Frame-Options', 'DENY');
    c.header('Content-Security-Policy', "frame-ancestors 'none'");
    return c.html(html`<!doctype html>${page}`);
  } catch (err) {
    // a browser lands here: answer with a page, and never redirect to an unverified redirect_uri
    if (err instanceof ServiceError) return c.html(html`<!doctype html>${ErrorPage({ hub: hub(c), status: err.status, message: err.message })}`, err.status as 400);
    throw err;
  }
}

oauthApi.get('/oauth2/authorize', authorizeHandler);
oauthApi.post('/oauth2/authorize', authorizeHandler);

/** HTTP Basic client credentials (RFC 6749 §2.3.1: each part form-urlencoded). */
function basicAuth(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: dec(text.slice(0, colon)), secret: dec(text.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

oauthApi.post('/oauth2/token', async (c) => {
  // `Authorization: token <server token>` arrives too (spec I.3); only Basic counts as client auth
  const result = await exchangeCode({ ctx: c.get('ctx'), input: { form: await formFields(c), basic: basicAuth(c.req.header('authorization')) } });
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
  return c.json(result.body, result.ok ? 200 : result.status);
});
