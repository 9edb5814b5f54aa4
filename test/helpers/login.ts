// Browser-side helpers for tests of the hub pages and the OAuth flow: browser.ts's cookie jar, a form
// login through /hub/login, and a server with its OAuth client written straight into the database
// (what the spawn runner creates, spec F), so OAuth can be tested without spawning.
import { eq } from 'drizzle-orm';
import type { buildTestApp } from './app.ts';
import { CookieJar } from './browser.ts';
import { schema } from '../../db/client.ts';
import { hashToken, newToken, sha256, tokenPrefix } from '../../src/auth/tokens.ts';
import { serverTokenScopes } from '../../src/auth/scopes.ts';
import { oauthClientId, serverPrefix } from '../../src/names.ts';
import type { ServerState } from '../../db/schema/index.ts';

type TestApp = Awaited<ReturnType<typeof buildTestApp>>;

/**
 * The e2e browser's path-aware jar, fed from in-process `app.request` responses. Every hub page and
 * API URL these tests call lies under /hub/, so that is the default request path.
 */
export class Jar extends CookieJar {
  take(res: Response, requestPath = '/hub/') {
    this.store(res.headers.getSetCookie(), requestPath);
    return res;
  }
  override header(path = '/hub/') {
    return super.header(path);
  }
}

export const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/** GET /hub/login, then POST the form with its XSRF token. Returns the final response and the jar. */
export async function loginAs(t: TestApp, username: string, password: string, opts: { next?: string; jar?: Jar } = {}) {
  const jar = opts.jar ?? new Jar();
  const page = jar.take(await t.app.request('/hub/login', { headers: { cookie: jar.header() } }));
  const xsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const f = form({ _xsrf: xsrf, username, password, ...(opts.next !== undefined ? { next: opts.next } : {}) });
  const res = jar.take(await t.app.request('/hub/login', { method: 'POST', body: f.body, headers: { ...f.headers, cookie: jar.header() } }));
  return { res, jar };
}

/** Logs in and returns the jar plus the session row (its XSRF token and session id). */
export async function loggedIn(t: TestApp, username: string, password = 'correct horse') {
  const { res, jar } = await loginAs(t, username, password);
  if (res.status !== 302) throw new Error(`login as ${username} failed: ${res.status}`);
  const session = await t.db.query.sessions.findFirst({ where: eq(schema.sessions.cookieHash, sha256(jar.get('jupyterhub-hub-login')!)) });
  return { jar, session: session! };
}

/** A server row in `state` with its server token and OAuth client, as the spawn runner makes them. */
export async function serverWithClient(t: TestApp, userName: string, serverName = '', state: ServerState = 'running') {
  const user = (await t.db.query.users.findFirst({ where: eq(schema.users.name, userName) })) ?? (await t.createUser(userName));
  const now = t.ctx.clock.now();
  const [server] = await t.db
    .insert(schema.servers)
    .values({ userId: user.id, name: serverName, state, backend: 'fake', url: 'http://127.0.0.1:9', startedAt: now, readyAt: state === 'running' ? now : null })
    .returning();
  const prefix = serverPrefix(t.config.hub.base_url, userName, serverName);
  const serverToken = newToken();
  await t.db.insert(schema.tokens).values({
    kind: 'server', prefix: tokenPrefix(serverToken), hashed: hashToken(serverToken), userId: user.id, serverId: server!.id,
    scopes: serverTokenScopes(userName, serverName), note: `Server at ${prefix}`, createdAt: now,
  });
  const clientId = oauthClientId(userName, serverName);
  const redirectUri = `${prefix}oauth_callback`;
  await t.db.insert(schema.oauthClients).values({
    id: clientId, secretHash: hashToken(serverToken, 16384), redirectUri, description: `Server at ${prefix}`,
    allowedScopes: [...t.config.spawner.oauth_client_allowed_scopes, `access:servers!server=${userName}/${serverName}`],
    serverId: server!.id, createdAt: now,
  });
  return { user, server: server!, serverToken, clientId, redirectUri, prefix };
}
