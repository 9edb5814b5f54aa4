/** @jsxImportSource hono/jsx */
// /hub/spawn[/<user>[/<server>]]: start a server from the browser (owner, or anyone holding `servers`
// on it, i.e. an admin), then follow it on /hub/spawn-pending (spec B.6).
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { browserUser, checkXsrf, formFields, hub, loginRedirect, safeNext } from './session.ts';
import { findUserServer, pageState } from '../../src/state/server.ts';
import { lookUpUser, requireScope } from '../lib.ts';
import { requestSpawn } from '../../src/services/servers/request-spawn.ts';
import { ServiceError, invalid, notFound } from '../../src/errors.ts';
import { optionsFromForm } from '../../src/spawn/options.ts';
import { hasChoice, SpawnForm } from './spawn-options.tsx';
import { html } from 'hono/html';
import { escapePath, serverPrefix, validServerName } from '../../src/names.ts';

export const spawnPages = new Hono<AppEnv>();

/** `<hub>spawn-pending/<user>[/<server>]?next=…` */
export function pendingUrl(hubUrl: string, user: string, server: string, next?: string) {
  return `${hubUrl}spawn-pending/${escapePath(user)}${server ? `/${escapePath(server)}` : ''}${next ? `?next=${encodeURIComponent(next)}` : ''}`;
}

/** `<hub>spawn/<user>[/<server>]?next=…` */
export function spawnUrl(hubUrl: string, user: string, server: string, next?: string) {
  return `${hubUrl}spawn/${escapePath(user)}${server ? `/${escapePath(server)}` : ''}${next ? `?next=${encodeURIComponent(next)}` : ''}`;
}

async function spawn(c: Context<AppEnv>) {
  const me = browserUser(c);
  if (!me) {
    if (c.req.method === 'POST') throw new ServiceError('Unauthenticated', 'Missing or invalid credentials.');
    return loginRedirect(c);
  }
  const form = c.req.method === 'POST' ? await formFields(c) : {};
  if (c.req.method === 'POST') checkXsrf(c, form, me.session.xsrf);
  const ctx = c.get('ctx');
  const userName = c.req.param('user') ?? me.name;
  const serverName = c.req.param('server') ?? '';
  if (!validServerName(serverName)) throw invalid(`Invalid server name: ${serverName}`);
  requireScope(c, 'servers', { server: `${userName}/${serverName}` });
  const user = userName === me.name ? me.user! : await lookUpUser(ctx, userName);
  if (!user) throw notFound(`No such user ${userName}`);
  const next = safeNext(c.req.query('next') ?? form.next);
  const serverUrl = serverPrefix(ctx.config.hub.base_url, user.name, serverName);
  const pending = pendingUrl(hub(c), user.name, serverName, next);
  const before = pageState(await findUserServer(ctx.db, user.id, serverName));
  if (before === 'ready') return c.redirect(next ?? serverUrl, 302);
  if (before === 'spawn' || before === 'stop') return c.redirect(pending, 302);
  const chooser = { name: user.name, groups: user.groupNames, admin: user.admin };
  let userOptions: Record<string, unknown> | undefined;
  if (hasChoice(ctx.config, chooser)) {
    if (c.req.method === 'GET') {
      const page = <SpawnForm config={ctx.config} user={chooser} hub={hub(c)} action={c.req.url} xsrf={me.session.xsrf} />;
      return c.html(html`<!doctype html>${page}`);
    }
    const { _xsrf: _x, next: _n, ...fields } = optionsFromForm(form as Record<string, string>);
    userOptions = fields;
  }
  try {
    await requestSpawn({ ctx, input: { user, serverName, userOptions } });
  } catch (err) {
    // lost a race with another spawn: where it stands now decides where the browser goes
    const now = pageState(await findUserServer(ctx.db, user.id, serverName));
    if (!(err instanceof ServiceError) || now === 'stopped' || now === 'failed') throw err;
    return c.redirect(now === 'ready' ? next ?? serverUrl : pending, 302);
  }
  return c.redirect(pending, 302);
}

spawnPages.on(['GET', 'POST'], ['/hub/spawn', '/hub/spawn/:user', '/hub/spawn/:user/:server'], spawn);
