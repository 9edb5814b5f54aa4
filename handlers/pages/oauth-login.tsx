/** @jsxImportSource hono/jsx */
// Redirect logins (design §7): /hub/oauth_login sends the browser to the provider with a fresh
// state, also set in a signed HttpOnly cookie; /hub/oauth_callback (OAuth2/OIDC, and CAS's service
// URL) checks that cookie against the state in the URL, takes the server-side state exactly once,
// lets the provider exchange and validate, applies the policy, and logs in. A failure is a page
// saying what went wrong and what to try — never a stack trace, never a redirect off-site.
import { createHmac } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { AppEnv } from '../env.ts';
import { Layout } from './layout.tsx';
import { hub, isHttps, safeNext, setLoginCookies } from './session.ts';
import { requestOrigin } from '../lib.ts';
import { providersOf } from '../../src/auth/providers/index.ts';
import { LoginError, type RedirectProvider } from '../../src/auth/providers/types.ts';
import { hubSecret } from '../../src/services/logins/hub-secret.ts';
import { newLoginState, saveLoginState, LOGIN_STATE_TTL_MS } from '../../src/services/logins/save-state.ts';
import { takeLoginState } from '../../src/services/logins/take-state.ts';
import { logIn } from '../../src/services/logins/log-in.ts';
import { sameSecret } from '../../src/auth/tokens.ts';

type C = Context<AppEnv>;
export const oauthLoginPages = new Hono<AppEnv>();

/** The login-state cookie: `<state>.<HMAC-SHA256(hub secret, state)>`, path /hub/, HttpOnly, Lax. */
export const STATE_COOKIE = 'berth-login-state';

const sign = (key: Buffer, state: string) => createHmac('sha256', key).update(`login-state:${state}`).digest('base64url');

export function LoginFailedPage(props: { hub: string; status: number; title: string; message: string; hint: string }) {
  return (
    <Layout title={props.title} hub={props.hub}>
      <div class="card">
        <h1>{props.title}</h1>
        <p class="error" role="alert">{props.message}</p>
        <p>{props.hint}</p>
        <p><a class="button" href={`${props.hub}login`}>Back to sign in</a></p>
      </div>
    </Layout>
  );
}

function failed(c: C, err: LoginError, provider?: string) {
  const ctx = c.get('ctx');
  const status = err.kind === 'refused' ? 403 : err.kind === 'invalid' ? 400 : 502;
  const fields = { provider, kind: err.kind, error: err.message, detail: err.detail };
  if (status === 502) ctx.log.error('login failed', fields);
  else ctx.log.info('login failed', fields);
  deleteCookie(c, STATE_COOKIE, { path: hub(c), secure: isHttps(c) });
  const page = LoginFailedPage({ hub: hub(c), status, title: status === 403 ? 'Not allowed to sign in' : 'Sign-in failed', message: err.message, hint: err.hint });
  return c.html(html`<!doctype html>${page}`, status);
}

/** The public URL of /hub/oauth_callback: the provider's callback_url, else from this request. */
function callbackUrl(c: C, provider: RedirectProvider): string {
  const entry = providersOf(c.get('ctx')).entry(provider.name);
  return entry?.callback_url ?? `${requestOrigin(c)}${hub(c)}oauth_callback`;
}

oauthLoginPages.get('/hub/oauth_login', async (c) => {
  const ctx = c.get('ctx');
  const name = c.req.query('provider') ?? providersOf(ctx).list.find((p) => p.type === 'redirect')?.name;
  const provider = providersOf(ctx).get(name);
  if (!provider || provider.type !== 'redirect') {
    return failed(c, new LoginError('invalid', `This hub has no sign-in method called "${String(name ?? '').slice(0, 64)}"`, { hint: 'Go back to the sign-in page and pick one of its buttons.' }));
  }
  const state = newLoginState();
  let begun;
  try {
    begun = await provider.begin({ callbackUrl: callbackUrl(c, provider), state });
  } catch (err) {
    if (err instanceof LoginError) return failed(c, err, provider.name);
    return failed(c, new LoginError('failed', `${provider.label}: the identity provider could not be reached`, { detail: String(err) }), provider.name);
  }
  await saveLoginState({ ctx, input: { state, provider: provider.name, saved: begun.saved ?? {}, next: safeNext(c.req.query('next')) } });
  const key = await hubSecret(ctx, 'login-state');
  setCookie(c, STATE_COOKIE, `${state}.${sign(key, state)}`, { path: hub(c), httpOnly: true, sameSite: 'Lax', secure: isHttps(c), maxAge: LOGIN_STATE_TTL_MS / 1000 });
  return c.redirect(begun.url, 302);
});

oauthLoginPages.get('/hub/oauth_callback', async (c) => {
  const ctx = c.get('ctx');
  const params = new URL(c.req.url).searchParams;
  const sent = params.get('state') ?? '';
  const cookie = getCookie(c, STATE_COOKIE) ?? '';
  const dot = cookie.lastIndexOf('.');
  const cookieState = dot > 0 ? cookie.slice(0, dot) : '';
  const key = await hubSecret(ctx, 'login-state');
  // the state must be the one this browser was given: a login started elsewhere (login CSRF) fails here
  if (!cookieState || !sameSecret(cookie.slice(dot + 1), sign(key, cookieState)) || !sent || !sameSecret(sent, cookieState)) {
    return failed(c, new LoginError('invalid', 'This sign-in link was not started in this browser, or it expired', { hint: 'Start again from the sign-in page (cookies must be enabled for this site).' }));
  }
  const row = await takeLoginState({ ctx, input: { state: sent } });
  if (!row) return failed(c, new LoginError('invalid', 'This sign-in was already used or has expired', { hint: 'Start again from the sign-in page.' }));
  deleteCookie(c, STATE_COOKIE, { path: hub(c), secure: isHttps(c) });
  const provider = providersOf(ctx).get(row.provider);
  if (!provider || provider.type !== 'redirect') return failed(c, new LoginError('invalid', 'The sign-in method this login started with is no longer configured', { hint: 'Start again from the sign-in page.' }));
  const error = params.get('error');
  if (error) {
    // the provider said no (access_denied, a consent refused…): its description is text from the provider, shown escaped
    const desc = (params.get('error_description') ?? '').slice(0, 300);
    return failed(c, new LoginError('refused', `${provider.label}: the identity provider answered "${error.slice(0, 64)}"${desc ? `: ${desc}` : ''}`, { hint: 'Try again; if you cancelled, sign in and allow access.' }), provider.name);
  }
  let claims;
  try {
    claims = await provider.complete({ callbackUrl: callbackUrl(c, provider), state: sent, params, saved: row.saved });
  } catch (err) {
    if (err instanceof LoginError) return failed(c, err, provider.name);
    return failed(c, new LoginError('failed', `${provider.label}: signing in failed`, { detail: String((err as Error)?.stack ?? err) }), provider.name);
  }
  const result = await logIn({ ctx, input: { provider, claims } });
  if (!result.ok && result.boundTo) {
    return failed(c, new LoginError('refused', `The account "${result.name}" belongs to another sign-in method ("${result.boundTo}"), not "${provider.label}"`, { hint: `Sign in with "${result.boundTo}" instead, or ask the hub administrator.`, detail: result.reason }), provider.name);
  }
  if (!result.ok) {
    return failed(c, new LoginError('refused', `${result.name ? `"${result.name}" is` : 'You are'} not allowed to use this hub`, { hint: 'If you think you should be, ask the hub administrator to add you (or a group you belong to).', detail: result.reason }), provider.name);
  }
  ctx.log.info('user logged in', { user: result.created.user.name, provider: provider.name });
  setLoginCookies(c, result.created.cookieSecret, result.created.session);
  return c.redirect(safeNext(row.next) ?? `${hub(c)}home`, 302);
});
