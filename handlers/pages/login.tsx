/** @jsxImportSource hono/jsx */
// /hub/login and /hub/logout (spec B.4, design §7): the shared-password form with JupyterHub's field
// names, the login cookies, `next=` kept on-site, and logout revoking the session's tokens.
import { Hono, type Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { eq, inArray, and } from 'drizzle-orm';
import { STOPPABLE } from '../../src/state/server.ts';
import type { AppEnv } from '../env.ts';
import { Layout } from './layout.tsx';
import {
  browserUser, checkXsrf, clearLoginCookies, formFields, hub, preLoginXsrf, safeNext, setLoginCookies, XSRF_COOKIE,
} from './session.ts';
import { checkLogin } from '../../src/auth/password.ts';
import { createSession } from '../../src/services/sessions/create.ts';
import { destroySession } from '../../src/services/sessions/destroy.ts';
import { requestStop } from '../../src/services/servers/request-stop.ts';
import { SESSION_COOKIE } from '../../src/auth/identity.ts';
import { schema } from '../../db/client.ts';

export const loginPages = new Hono<AppEnv>();

function LoginForm(props: { hub: string; xsrf: string; next: string; username?: string; error?: string }) {
  const action = `${props.hub}login${props.next ? `?next=${encodeURIComponent(props.next)}` : ''}`;
  return (
    <Layout title="Sign in" hub={props.hub}>
      <div class="card">
        <h1>Sign in</h1>
        {props.error ? <p class="error">{props.error}</p> : null}
        <form method="post" action={action}>
          <input type="hidden" name="_xsrf" value={props.xsrf} />
          <input type="hidden" name="next" value={props.next} />
          <label for="username">Username</label>
          <input id="username" type="text" name="username" value={props.username ?? ''} autocomplete="username" autocapitalize="off" required autofocus />
          <label for="password">Password</label>
          <input id="password" type="password" name="password" autocomplete="current-password" required />
          <button type="submit">Sign in</button>
        </form>
      </div>
    </Layout>
  );
}

loginPages.get('/hub/login', (c) => {
  const next = safeNext(c.req.query('next')) ?? '';
  if (browserUser(c)) return c.redirect(next || `${hub(c)}home`, 302);
  const page = <LoginForm hub={hub(c)} xsrf={preLoginXsrf(c)} next={next} username={c.req.query('username')} />;
  return c.html(html`<!doctype html>${page}`);
});

loginPages.post('/hub/login', async (c) => {
  const ctx = c.get('ctx');
  const form = await formFields(c);
  checkXsrf(c, form, getCookie(c, XSRF_COOKIE));
  const next = safeNext(form.next ?? c.req.query('next'));
  const who = await checkLogin(ctx, form.username ?? '', form.password ?? '');
  const created = who && (await createSession({ ctx, input: who }));
  if (!created) {
    ctx.log.info('login failed', { user: (form.username ?? '').slice(0, 64) });
    const page = <LoginForm hub={hub(c)} xsrf={preLoginXsrf(c)} next={next ?? ''} username={form.username} error="Invalid username or password" />;
    return c.html(html`<!doctype html>${page}`, 403);
  }
  ctx.log.info('user logged in', { user: created.user.name });
  setLoginCookies(c, created.cookieSecret, created.session);
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
