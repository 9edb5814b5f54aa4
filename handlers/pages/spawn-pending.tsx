/** @jsxImportSource hono/jsx */
// /hub/spawn-pending/<user>[/<server>]: a live progress bar fed by the progress SSE stream, the
// failure message with the container's last log lines, and a way to try again.
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../env.ts';
import { Layout, scriptJson } from './layout.tsx';
import { browserUser, hub, loginRedirect, safeNext } from './session.ts';
import { findUserServer, pageState } from '../../src/state/server.ts';
import { spawnUrl } from './spawn.tsx';
import { lookUpUser, requireScope } from '../lib.ts';
import { notFound } from '../../src/errors.ts';
import { progressUrl, serverPrefix } from '../../src/names.ts';

export const spawnPendingPages = new Hono<AppEnv>();

const PROGRESS_SCRIPT = `
const cfg = JSON.parse(document.getElementById('pending-config').textContent);
const bar = document.getElementById('bar'), msg = document.getElementById('message'), list = document.getElementById('events');
const es = new EventSource(cfg.progressUrl);
es.onmessage = (e) => {
  let ev; try { ev = JSON.parse(e.data); } catch { return; }
  if (typeof ev.progress === 'number') bar.style.width = Math.max(0, Math.min(100, ev.progress)) + '%';
  if (ev.message) { msg.textContent = ev.message; const li = document.createElement('li'); li.textContent = ev.message; list.appendChild(li); }
  if (ev.ready) { es.close(); location.href = cfg.next || ev.url || cfg.url; }
  else if (ev.failed) { es.close(); setTimeout(() => location.reload(), 300); }
};
// the stream ends (or is refused) once nothing is pending: the page then shows where things stand
es.onerror = () => { if (es.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 1000); };`;

spawnPendingPages.get('/hub/spawn-pending/:user/:server?', async (c) => {
  const me = browserUser(c);
  if (!me) return loginRedirect(c);
  const ctx = c.get('ctx');
  const h = hub(c);
  const userName = c.req.param('user');
  const serverName = c.req.param('server') ?? '';
  requireScope(c, 'read:servers', { server: `${userName}/${serverName}` });
  const user = userName === me.name ? me.user! : await lookUpUser(ctx, userName);
  if (!user) throw notFound(`No such user ${userName}`);
  const server = await findUserServer(ctx.db, user.id, serverName);
  const state = pageState(server);
  const next = safeNext(c.req.query('next'));
  const url = serverPrefix(ctx.config.hub.base_url, user.name, serverName);
  if (state === 'ready') return c.redirect(next ?? url, 302);
  const label = serverName ? `${user.name}/${serverName}` : user.name;
  const retry = spawnUrl(h, user.name, serverName, next);
  let body;
  if (state === 'failed') {
    body = (
      <div class="card">
        <h1>Server {label} failed to start</h1>
        <p class="error">{server?.failure?.message ?? 'Spawn failed'}</p>
        {server?.failure?.logTail ? (
          <>
            <p class="muted">Last lines of the server's log:</p>
            <pre class="log">{server.failure.logTail}</pre>
          </>
        ) : null}
        <form method="post" action={retry}>
          <input type="hidden" name="_xsrf" value={me.session.xsrf} />
          <button type="submit">Try again</button>
        </form>
      </div>
    );
  } else if (state === 'stopped') {
    body = (
      <div class="card">
        <h1>Server {label} is not running</h1>
        <a class="button" href={retry}>Launch server {label}</a>
      </div>
    );
  } else if (state === 'stop') {
    body = (
      <div class="card">
        <h1>Server {label} is stopping…</h1>
        <p class="muted">This page refreshes by itself.</p>
      </div>
    );
  } else {
    const config = { progressUrl: progressUrl(ctx.config.hub.base_url, user.name, serverName), next: next ?? null, url };
    body = (
      <div class="card">
        <h1>Your server is starting up</h1>
        <p class="muted">You will be redirected automatically when it's ready for you.</p>
        <div class="bar" role="progressbar"><div id="bar" /></div>
        <p id="message">Server requested</p>
        <ul class="events" id="events" />
        <script type="application/json" id="pending-config" dangerouslySetInnerHTML={{ __html: scriptJson(config) }} />
        <script dangerouslySetInnerHTML={{ __html: PROGRESS_SCRIPT }} />
      </div>
    );
  }
  const page = (
    <Layout title="Starting" hub={h} user={me.name} refresh={state === 'stop' ? 2 : undefined}>
      {body}
    </Layout>
  );
  return c.html(html`<!doctype html>${page}`);
});
