/** @jsxImportSource hono/jsx */
// /hub/home: the user's default server with Start / Stop, and the / and /hub/ landing redirects.
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../env.ts';
import { Layout, scriptJson } from './layout.tsx';
import { browserUser, hub, loginRedirect } from './session.ts';
import { findUserServer, pageState } from '../../src/state/server.ts';
import { escapePath, serverPrefix } from '../../src/names.ts';

export const homePages = new Hono<AppEnv>();

const LABEL = { ready: 'running', spawn: 'starting…', stop: 'stopping…', failed: 'failed to start', stopped: 'not running' } as const;

// Stop goes through the REST API with the session's XSRF token (checked by handlers/app.ts).
const STOP_SCRIPT = `
const cfg = JSON.parse(document.getElementById('home-config').textContent);
const btn = document.getElementById('stop');
if (btn) btn.addEventListener('click', async () => {
  btn.disabled = true; btn.textContent = 'Stopping…';
  try {
    const r = await fetch(cfg.api, { method: 'DELETE', headers: { 'X-XSRFToken': cfg.xsrf } });
    if (!r.ok) { const b = await r.json().catch(() => ({})); alert(b.message || ('Stop failed: ' + r.status)); }
  } finally { location.reload(); }
});`;

homePages.get('/hub/home', async (c) => {
  const me = browserUser(c);
  if (!me) return loginRedirect(c);
  const ctx = c.get('ctx');
  const h = hub(c);
  const server = await findUserServer(ctx.db, me.user!.id, '');
  const state = pageState(server);
  const name = escapePath(me.name);
  const url = serverPrefix(ctx.config.hub.base_url, me.name, '');
  const config = { api: `${h}api/users/${name}/server`, xsrf: me.session.xsrf };
  const page = (
    <Layout title="Home" hub={h} user={me.name} refresh={state === 'stop' ? 2 : undefined}>
      <div class="card">
        <h1>Your server</h1>
        <p>
          Status: <span class="state" id="state">{LABEL[state]}</span>
        </p>
        {state === 'failed' && server?.failure ? <p class="error">{server.failure.message}</p> : null}
        {state === 'ready' ? (
          <p>
            <a class="button" href={url}>Open my server</a>{' '}
            <button type="button" id="stop" class="danger">Stop my server</button>
          </p>
        ) : null}
        {state === 'spawn' ? <a class="button" href={`${h}spawn-pending/${name}`}>Show progress</a> : null}
        {state === 'stopped' || state === 'failed' ? (
          <form method="post" action={`${h}spawn/${name}`}>
            <input type="hidden" name="_xsrf" value={me.session.xsrf} />
            <button type="submit">Start my server</button>
          </form>
        ) : null}
      </div>
      <form method="post" action={`${h}logout`}>
        <input type="hidden" name="_xsrf" value={me.session.xsrf} />
        <button type="submit" class="secondary">Logout</button>
      </form>
      <script type="application/json" id="home-config" dangerouslySetInnerHTML={{ __html: scriptJson(config) }} />
      <script dangerouslySetInnerHTML={{ __html: STOP_SCRIPT }} />
    </Layout>
  );
  return c.html(html`<!doctype html>${page}`);
});

// JupyterHub sends / to /hub/ and /hub/ to the user's landing page; ours is /hub/home.
homePages.get('/', (c) => c.redirect(hub(c), 302));
// (the app is not strict about trailing slashes, so this also answers /hub)
homePages.get('/hub', (c) => c.redirect(browserUser(c) ? `${hub(c)}home` : `${hub(c)}login`, 302));
