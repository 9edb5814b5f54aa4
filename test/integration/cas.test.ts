// CAS login end to end through the in-process hub and a fake CAS server on loopback
// (test/helpers/fake-cas.ts): the login page's button, /hub/oauth_login to the CAS login form, the
// ticket back at /hub/oauth_callback, validation at the CAS server, the policy, the session and the
// user's groups. Then every way the ticket or the answer can be wrong.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../helpers/app.ts';
import { Jar } from '../helpers/login.ts';
import { startFakeCas, type FakeCas } from '../helpers/fake-cas.ts';
import { schema } from '../../db/client.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { casProvider } from '../../src/auth/providers/cas/index.ts';
import { casConfig } from '../../src/auth/providers/cas/config.ts';
import { silentLogger } from '../../src/log.ts';
import { LoginError } from '../../src/auth/providers/types.ts';

type TestApp = Awaited<ReturnType<typeof buildTestApp>>;

const SPECIAL = `R&D <lab> "quoted" 'apos'`;
let cas: FakeCas;
const users: Parameters<typeof startFakeCas>[0]['users'] = {};
before(async () => {
  cas = await startFakeCas({
    users: Object.assign(users, {
      alice: { password: 'alice pw', attributes: { affiliation: ['student', 'staff'], memberOf: ['physics', SPECIAL, 'café ☕'], mail: 'alice@example.edu' } },
      bob: { password: 'bob pw', attributes: { affiliation: 'student', memberOf: 'physics' } },
      carol: { password: 'carol pw', attributes: { affiliation: 'staff', memberOf: 'chemistry' } },
      dave: { password: 'dave pw', attributes: { affiliation: 'staff', memberOf: ['physics', 'chemistry'] } },
    }),
  });
});
after(() => cas.close());

function casApp(provider: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) {
  const entry = { kind: 'cas', server_url: cas.url, required_attributes: { affiliation: 'staff' }, group_attribute: 'memberOf', ...provider };
  return buildTestApp({ config: { auth: { providers: [entry], ...auth } } as ConfigInput });
}

/** GET /hub/oauth_login?provider=cas: the redirect to CAS (its state cookie kept in the jar). */
async function begin(t: TestApp, jar: Jar) {
  const res = jar.take(await t.app.request('/hub/oauth_login?provider=cas', { headers: { cookie: jar.header() } }));
  assert.equal(res.status, 302);
  const location = new URL(res.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, `${cas.url}/login`);
  const service = location.searchParams.get('service')!;
  return { loginUrl: location.href, service, state: new URL(service).searchParams.get('state')! };
}

/** The browser arriving back at the hub: the callback URL CAS redirected to, with the jar. */
async function callback(t: TestApp, jar: Jar, url: string) {
  const u = new URL(url);
  return jar.take(await t.app.request(`${u.pathname}${u.search}`, { headers: { cookie: jar.header() } }));
}

/** The whole round trip for one person; returns the hub's last answer. */
async function casLogin(t: TestApp, user: string, password: string, jar = new Jar()) {
  const { loginUrl } = await begin(t, jar);
  const back = await cas.signIn(loginUrl, user, password);
  assert.equal(back.status, 302);
  return { res: await callback(t, jar, back.location!), jar, back: back.location! };
}

async function groupsOf(t: TestApp, name: string) {
  const rows = await t.db
    .select({ group: schema.groups.name })
    .from(schema.userGroups)
    .innerJoin(schema.groups, eq(schema.groups.id, schema.userGroups.groupId))
    .innerJoin(schema.users, eq(schema.users.id, schema.userGroups.userId))
    .where(eq(schema.users.name, name));
  return rows.map((r) => r.group).sort();
}

const userRow = (t: TestApp, name: string) => t.db.query.users.findFirst({ where: eq(schema.users.name, name) });

describe('CAS login (protocol 3.0)', () => {
  test('the login page shows the CAS button, which starts the redirect', async () => {
    const t = await casApp();
    const page = await (await t.app.request('/hub/login')).text();
    assert.match(page, /href="\/hub\/oauth_login\?provider=cas"[^>]*>Sign in with CAS</);
    assert.doesNotMatch(page, /name="password"/); // no form provider configured
  });

  test('a user with the required attribute logs in; the group attribute becomes their groups, XML specials and all', async () => {
    const t = await casApp();
    const jar = new Jar();
    const { loginUrl, service, state } = await begin(t, jar);
    assert.equal(service, `http://localhost/hub/oauth_callback?state=${state}`);
    const back = await cas.signIn(loginUrl, 'alice', 'alice pw');
    assert.equal(back.status, 302);
    assert.match(back.location!, new RegExp(`^${service.replace(/[.?]/g, '\\$&')}&ticket=ST-`));
    const res = await callback(t, jar, back.location!);
    assert.equal(res.status, 302, await res.text());
    assert.equal(res.headers.get('location'), '/hub/home');
    assert.ok(jar.get('jupyterhub-hub-login'), 'logged in');
    // the ticket was validated at the 3.0 endpoint with the exact service URL, and nothing else was sent
    const v = cas.validations.at(-1)!;
    assert.equal(v.path, '/cas/p3/serviceValidate');
    assert.deepEqual(Object.keys(v.params).sort(), ['service', 'ticket']);
    assert.equal(v.params.service, service);
    assert.equal(v.result, 'alice');
    assert.ok(await userRow(t, 'alice'));
    assert.deepEqual(await groupsOf(t, 'alice'), ['café ☕', 'physics', SPECIAL].sort());
    // the session works
    const home = await t.app.request('/hub/home', { headers: { cookie: jar.header() } });
    assert.equal(home.status, 200);
  });

  test('each login sets the groups to what CAS says now: a group left is a membership removed', async () => {
    const t = await casApp();
    assert.equal((await casLogin(t, 'dave', 'dave pw')).res.status, 302);
    assert.deepEqual(await groupsOf(t, 'dave'), ['chemistry', 'physics']);
    users.dave!.attributes = { affiliation: 'staff', memberOf: ['biology', 'physics'] };
    assert.equal((await casLogin(t, 'dave', 'dave pw')).res.status, 302);
    assert.deepEqual(await groupsOf(t, 'dave'), ['biology', 'physics']);
  });

  test('a user without the required attribute value is refused (403), and no account is made', async () => {
    const t = await casApp();
    const { res } = await casLogin(t, 'bob', 'bob pw');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /&quot;bob&quot; is not allowed to use this hub/);
    assert.equal(jarLogin(res), undefined);
    assert.equal(await userRow(t, 'bob'), undefined);
    assert.equal(cas.validations.at(-1)!.result, 'bob'); // CAS said who; the hub said no
  });

  test('auth.allowed_users still lets a user in whom required_attributes would not', async () => {
    const t = await casApp({}, { allowed_users: ['bob'] });
    const { res } = await casLogin(t, 'bob', 'bob pw');
    assert.equal(res.status, 302);
    assert.deepEqual(await groupsOf(t, 'bob'), ['physics']);
  });

  test('a ticket already used is refused by the CAS server (403), in a fresh login of the same browser', async () => {
    const t = await casApp();
    const { res, jar, back } = await casLogin(t, 'alice', 'alice pw');
    assert.equal(res.status, 302);
    const ticket = new URL(back).searchParams.get('ticket')!;
    // the same callback URL again: the hub's state was taken once
    assert.equal((await callback(t, jar, back)).status, 400);
    // a new login, the old ticket slipped in: the CAS server has spent it
    const jar2 = new Jar();
    const { service } = await begin(t, jar2);
    const again = await callback(t, jar2, `${service}&ticket=${encodeURIComponent(ticket)}`);
    assert.equal(again.status, 403);
    assert.match(await again.text(), /The CAS server did not accept the sign-in ticket/);
    assert.equal(cas.validations.at(-1)!.result, 'INVALID_TICKET');
  });

  test('a ticket issued for another service is refused (INVALID_SERVICE), and spent', async () => {
    const t = await casApp();
    const ticket = cas.issueTicket('alice', 'https://other-app.example/login');
    const jar = new Jar();
    const { service } = await begin(t, jar);
    const res = await callback(t, jar, `${service}&ticket=${encodeURIComponent(ticket)}`);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /did not accept the sign-in ticket/);
    assert.equal(cas.validations.at(-1)!.result, 'INVALID_SERVICE');
    assert.equal(cas.isLive(ticket), false);
    assert.equal(await userRow(t, 'alice'), undefined);
  });

  test('a ticket issued for this hub but another login (another state) is refused: the state is part of the service URL', async () => {
    const t = await casApp();
    const jarA = new Jar();
    const a = await begin(t, jarA);
    const ticket = cas.issueTicket('alice', a.service);
    const jarB = new Jar();
    const b = await begin(t, jarB);
    const res = await callback(t, jarB, `${b.service}&ticket=${encodeURIComponent(ticket)}`);
    assert.equal(res.status, 403);
    assert.equal(cas.validations.at(-1)!.result, 'INVALID_SERVICE');
  });

  test('a callback without a ticket is a bad request (400), and the CAS server is not asked', async () => {
    const t = await casApp();
    const jar = new Jar();
    const { service } = await begin(t, jar);
    const before = cas.validations.length;
    const res = await callback(t, jar, service);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /without a sign-in ticket/);
    assert.equal(cas.validations.length, before);
  });

  test('an answer with a DOCTYPE (entity expansion) is refused (502), even one that says success', async () => {
    const t = await casApp();
    const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<cas:serviceResponse xmlns:cas="http://www.yale.edu/tp/cas"><cas:authenticationSuccess><cas:user>alice&lol2;</cas:user>
<cas:attributes><cas:affiliation>staff</cas:affiliation></cas:attributes></cas:authenticationSuccess></cas:serviceResponse>`;
    cas.answerNextWith(laughs);
    const { res } = await casLogin(t, 'alice', 'alice pw');
    assert.equal(res.status, 502);
    assert.match(await res.text(), /gave an answer Berth could not read/);
    assert.equal(await userRow(t, 'alice'), undefined);
    assert.equal(await userRow(t, 'alicelol'), undefined);
  });

  test('garbage from the CAS server (an HTML page, an HTTP 500, a redirect) is a failure (502), not a login', async () => {
    const t = await casApp();
    cas.answerNextWith('<html><body>Maintenance</body></html>', 200, 'text/html');
    assert.equal((await casLogin(t, 'alice', 'alice pw')).res.status, 502);
    cas.answerNextWith('Internal Server Error', 500, 'text/plain');
    assert.equal((await casLogin(t, 'alice', 'alice pw')).res.status, 502);
    // a validation answer that points elsewhere is not followed
    const before = cas.validations.length;
    cas.answerNextWith('', 302, 'text/plain', { location: `${cas.url}/p3/serviceValidate?service=x&ticket=ST-0-x` });
    assert.equal((await casLogin(t, 'alice', 'alice pw')).res.status, 502);
    assert.equal(cas.validations.length, before + 1);
    assert.equal(await userRow(t, 'alice'), undefined);
  });

  test('an unreachable CAS server is a failure (502)', async () => {
    const port = await closedPort();
    const t = await casApp({ server_url: `http://127.0.0.1:${port}/cas` });
    const jar = new Jar();
    const res = jar.take(await t.app.request('/hub/oauth_login?provider=cas', { headers: { cookie: jar.header() } }));
    const service = new URL(res.headers.get('location')!).searchParams.get('service')!;
    const back = await callback(t, jar, `${service}&ticket=ST-1-abc`);
    assert.equal(back.status, 502);
    assert.match(await back.text(), /could not be reached/);
  });
});

describe('CAS login (protocol 2.0)', () => {
  test('logs in at /serviceValidate; no attributes, so no groups, and access comes from auth.allowed_users', async () => {
    const t = await casApp({ protocol: '2.0', required_attributes: {} }, { allowed_users: ['carol'] });
    const { res } = await casLogin(t, 'carol', 'carol pw');
    assert.equal(res.status, 302, await res.text());
    const v = cas.validations.at(-1)!;
    assert.equal(v.path, '/cas/serviceValidate');
    assert.deepEqual(Object.keys(v.params).sort(), ['service', 'ticket']);
    assert.ok(await userRow(t, 'carol'));
    assert.deepEqual(await groupsOf(t, 'carol'), []);
  });

  test('with required_attributes, a 2.0 server (which releases none) lets nobody in', async () => {
    const t = await casApp({ protocol: '2.0' });
    const { res } = await casLogin(t, 'carol', 'carol pw');
    assert.equal(res.status, 403);
    assert.equal(await userRow(t, 'carol'), undefined);
  });
});

describe('CAS provider against the fake server', () => {
  const provider = () => casProvider(casConfig.parse({ kind: 'cas', server_url: cas.url }), undefined as never, { log: silentLogger, now: Date.now, fetch });

  test('the very same service and ticket validated twice: the second is refused with the code INVALID_TICKET', async () => {
    const p = provider();
    const callbackUrl = 'https://hub.example/hub/oauth_callback';
    const { url } = await p.begin({ callbackUrl, state: 's1' });
    const back = await cas.signIn(url, 'carol', 'carol pw');
    const params = new URL(back.location!).searchParams;
    const claims = await p.complete({ callbackUrl, state: 's1', params, saved: {} });
    assert.equal(claims.name, 'carol');
    await assert.rejects(p.complete({ callbackUrl, state: 's1', params, saved: {} }), (err: unknown) => {
      assert.ok(err instanceof LoginError);
      assert.equal(err.kind, 'refused');
      assert.equal(err.detail, 'INVALID_TICKET');
      return true;
    });
  });

  test('a callback URL with its own query and fragment: the service URL is rebuilt exactly', async () => {
    const p = provider();
    const callbackUrl = 'https://hub.example/hub/oauth_callback?tenant=a%20b#frag';
    const { url } = await p.begin({ callbackUrl, state: 'st/+=' });
    const back = await cas.signIn(url, 'alice', 'alice pw');
    const claims = await p.complete({ callbackUrl, state: 'st/+=', params: new URL(back.location!).searchParams, saved: {} });
    assert.equal(claims.name, 'alice');
    assert.equal(cas.validations.at(-1)!.result, 'alice');
  });
});

const jarLogin = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith('jupyterhub-hub-login=') && !/=;/.test(c));

/** A loopback port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
