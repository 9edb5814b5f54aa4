/** @jsxImportSource hono/jsx */
// /hub/login and /hub/logout (spec B.4, design §7): one button per redirect provider and the form of
// the password-like ones (JupyterHub's field names), failed attempts rate-limited, the login cookies,
// `next=` kept on-site, and logout revoking the session's tokens.
import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { eq, inArray, and } from 'drizzle-orm';
import { STOPPABLE } from '../../src/state/server.ts';
import type { AppEnv } from '../env.ts';
import { Layout } from './layout.tsx';
import {
  browserUser, checkXsrf, clearLoginCookies, clientAddress, formFields, hub, preLoginXsrf, safeNext, setLoginCookies, XSRF_COOKIE,
} from './session.ts';
import { providersOf } from '../../src/auth/providers/index.ts';
import { LoginError, type FormProvider, type RedirectProvider } from '../../src/auth/providers/types.ts';
import { LoginLimiter } from '../../src/auth/rate-limit.ts';
import { formLogin } from '../../src/services/logins/form-login.ts';
import { ServiceError } from '../../src/errors.ts';
import type { AppContext } from '../../src/context.ts';
import { destroySession } from '../../src/services/sessions/destroy.ts';
import { requestStop } from '../../src/services/servers/request-stop.ts';
import { SESSION_COOKIE } from '../../src/auth/identity.ts';
import { schema } from '../../db/client.ts';

export const loginPages = new Hono<AppEnv>();

interface LoginView {
  hub: string; xsrf: string; next: string; username?: string | undefined; error?: string | undefined;
  forms: FormProvider[]; buttons: RedirectProvider[];
}

function LoginPage(v: LoginView) {
  const q = v.next ? `?next=${encodeURIComponent(v.next)}` : '';
  const nextQ = v.next ? `&next=${encodeURIComponent(v.next)}` : '';
  return (
    <Layout title="Sign in" hub={v.hub}>
      <div class="card">
        <h1>Sign in</h1>
        {v.error ? <p class="error" role="alert">{v.error}</p> : null}
        {v.buttons.map((p) => (
          <p><a class="button login-provider" data-provider={p.name} href={`${v.hub}oauth_login?provider=${encodeURIComponent(p.name)}${nextQ}`}>{p.label}</a></p>
        ))}
        {v.forms.length ? (
          <form method="post" action={`${v.hub}login${q}`}>
            <input type="hidden" name="_xsrf" value={v.xsrf} />
            <input type="hidden" name="next" value={v.next} />
            {v.forms.length > 1 ? (
              <>
                <label for="provider">Sign in with</label>
                <select id="provider" name="provider">{v.forms.map((p) => <option value={p.name}>{p.label}</option>)}</select>
              </>
            ) : <input type="hidden" name="provider" value={v.forms[0]!.name} />}
            <label for="username">Username</label>
            <input id="username" type="text" name="username" value={v.username ?? ''} autocomplete="username" autocapitalize="off" required autofocus />
            <label for="password">Password</label>
            <input id="password" type="password" name="password" autocomplete="current-password" required />
            <button type="submit">Sign in</button>
          </form>
        ) : null}
      </div>
    </Layout>
  );
}

function view(c: Context<AppEnv>, next: string, extra: Partial<LoginView> = {}): LoginView {
  const list = providersOf(c.get('ctx')).list;
  return {
    hub: hub(c), xsrf: preLoginXsrf(c), next,
    forms: list.filter((p): p is FormProvider => p.type === 'form'),
    buttons: list.filter((p): p is RedirectProvider => p.type === 'redirect'),
    ...extra,
  };
}

loginPages.get('/hub/login', (c) => {
  const next = safeNext(c.req.query('next')) ?? '';
  if (browserUser(c)) return c.redirect(next || `${hub(c)}home`, 302);
  const v = view(c, next, { username: c.req.query('username') });
  // Authenticator.auto_login: one redirect provider and no form → straight to it
  if (c.get('ctx').config.auth.auto_login && v.forms.length === 0 && v.buttons.length === 1) {
    return c.redirect(`${hub(c)}oauth_login?provider=${encodeURIComponent(v.buttons[0]!.name)}${next ? `&next=${encodeURIComponent(next)}` : ''}`, 302);
  }
  return c.html(html`<!doctype html>${LoginPage(v)}`);
});

const limiters = new WeakMap<object, LoginLimiter>();
function limiterOf(ctx: AppContext) {
  const a = ctx.config.auth.login_attempts;
  let l = limiters.get(a);
  if (!l) limiters.set(a, (l = new LoginLimiter({ perUser: a.per_user, perAddress: a.per_address, windowMs: a.window_seconds * 1000, now: () => ctx.clock.now() })));
  return l;
}

loginPages.post('/hub/login', async (c) => {
  const ctx = c.get('ctx');
  const form = await formFields(c);
  checkXsrf(c, form, getCookie(c, XSRF_COOKIE));
  const next = safeNext(form.next ?? c.req.query('next'));
  const providers = providersOf(ctx);
  const forms = providers.list.filter((p): p is FormProvider => p.type === 'form');
  const provider = (form.provider ? forms.find((p) => p.name === form.provider) : forms[0]);
  if (!provider) throw new ServiceError('Invalid', forms.length ? `No such sign-in method: ${form.provider}` : 'This hub has no password sign-in; use a sign-in button');
  const username = form.username ?? '';
  const who = username.trim().toLowerCase().slice(0, 255);
  const address = clientAddress(c);
  const limiter = limiterOf(ctx);
  const fail = (status: 403 | 429 | 502, error: string) =>
    c.html(html`<!doctype html>${LoginPage(view(c, next ?? '', { username, error }))}`, status);

  const wait = limiter.retryAfter(who, address);
  if (wait > 0) {
    ctx.log.warn('login rate-limited', { user: who.slice(0, 64), address, retryAfter: wait });
    c.header('Retry-After', String(wait));
    return fail(429, `Too many failed sign-in attempts. Wait ${wait >= 90 ? `${Math.ceil(wait / 60)} minutes` : `${wait} seconds`} and try again, or ask the hub administrator.`);
  }
  let result;
  try {
    result = await formLogin({ ctx, input: { provider, username, password: form.password ?? '' } });
  } catch (err) {
    if (!(err instanceof LoginError)) throw err;
    ctx.log.error('login provider failed', { provider: provider.name, error: err.message, detail: err.detail });
    return fail(502, `${err.message}. ${err.hint}`);
  }
  if (!result.ok) {
    limiter.fail(who, address);
    ctx.log.info('login failed', { user: who.slice(0, 64), provider: provider.name, reason: result.reason });
    return fail(403, 'Invalid username or password');
  }
  limiter.succeed(who);
  ctx.log.info('user logged in', { user: result.created.user.name, provider: provider.name });
  setLoginCookies(c, result.created.cookieSecret, result.created.session);
  return c.redirect(next ?? `${hub(c)}home`, 302);
});

async function logout(c: Context<AppEnv>) {
  const ctx = c.get('ctx');
  const me = browserUser(c);
  if (me) {
    if (c.req.method === 'POST') checkXsrf(c, await formFields(c), me.session.xsrf);
    await destroySession({ ctx, input: { session: me.session, browserSessionId: getCookie(c, SESSION_COOKIE) } });
    if (ctx.config.hub.shutdown_on_logout) {
      const active = await ctx.db
        .select({ name: schema.servers.name })
        .from(schema.servers)
        .where(and(eq(schema.servers.userId, me.user!.id), inArray(schema.servers.state, [...STOPPABLE])));
      for (const s of active) {
        await requestStop({ ctx, input: { user: me.user!, serverName: s.name } }).catch((err: unknown) =>
          ctx.log.warn('stop at logout failed', { user: me.name, server: s.name, error: String(err) }),
        );
      }
    }
    ctx.log.info('user logged out', { user: me.name });
  }
  clearLoginCookies(c);
  return c.redirect(`${hub(c)}login`, 302);
}

loginPages.get('/hub/logout', logout);
loginPages.post('/hub/logout', logout);
