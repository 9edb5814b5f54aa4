// LDAP login against a real OpenLDAP server (Debian's slapd, test/helpers/slapd.ts) on 127.0.0.1
// with a throwaway database: bind templates, search-then-bind, group rules, POSIX identity, the
// empty-password hole, escaping of hostile names, LDAPS and StartTLS verified against a test CA,
// and a login through the hub's own form. slapd's stats log shows what reached the directory.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { eq } from 'drizzle-orm';
import { Client, InvalidCredentialsError } from 'ldapts';
import { startSlapd, ssha, type Slapd } from '../helpers/slapd.ts';
import { buildTestApp } from '../helpers/app.ts';
import { Jar, form } from '../helpers/login.ts';
import { until } from '../helpers/until.ts';
import { configSchema } from '../../src/config/schema.ts';
import { ldapProvider } from '../../src/auth/providers/ldap/index.ts';
import { closeQuietly, ConnectionLost, openConnection } from '../../src/auth/providers/ldap/connection.ts';
import { LoginError, type FormProvider } from '../../src/auth/providers/types.ts';
import { silentLogger } from '../../src/log.ts';
import { authStateCrypt } from '../../src/auth/auth-state.ts';
import { schema } from '../../db/client.ts';

const S = 'dc=example,dc=org';
const PEOPLE = `ou=people,${S}`;
const GROUPS = `ou=groups,${S}`;
const pw = (u: string) => `${u} secret pw`;
const READER = `cn=reader,${S}`;
const READER_PW = 'reader secret pw';

function person(uid: string, ou: string, extra: { dnValue?: string; uidNumber?: number; mail?: string } = {}) {
  const n = extra.uidNumber;
  return [
    `dn: uid=${extra.dnValue ?? uid},${ou}`,
    'objectClass: inetOrgPerson', ...(n ? ['objectClass: posixAccount'] : []),
    `uid: ${uid}`, `cn: ${uid}`, `sn: ${uid}`,
    ...(n ? [`uidNumber: ${n}`, `gidNumber: ${n + 1000}`, `homeDirectory: /home/${uid.toLowerCase()}`] : []),
    ...(extra.mail ? [`mail: ${extra.mail}`] : []),
    `userPassword: ${ssha(pw(uid))}`, '',
  ].join('\n');
}

const LDIF = [
  `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: ou=staff,${S}\nobjectClass: organizationalUnit\nou: staff\n`,
  `dn: ${GROUPS}\nobjectClass: organizationalUnit\nou: groups\n`,
  `dn: ${READER}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: ${ssha(READER_PW)}\n`,
  person('alice', PEOPLE, { uidNumber: 1001, mail: 'alice@example.org' }),
  person('bob', PEOPLE, { uidNumber: 1002 }),
  person('carol', `ou=staff,${S}`, { uidNumber: 1003 }),
  person('Dave.Smith', PEOPLE, { uidNumber: 1004 }),
  person('o,brien', PEOPLE, { dnValue: 'o\\,brien' }),
  person('star*', PEOPLE),
  person('starling', PEOPLE),
  person('starfish', PEOPLE),
  person('twin', PEOPLE),
  person('twin', `ou=staff,${S}`),
  `dn: cn=scientists,${GROUPS}\nobjectClass: groupOfNames\ncn: scientists\nmember: uid=alice,${PEOPLE}\n`,
  `dn: cn=staff,${GROUPS}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=carol,ou=staff,${S}\n`,
  `dn: cn=lab,${GROUPS}\nobjectClass: posixGroup\ncn: lab\ngidNumber: 3000\nmemberUid: alice\nmemberUid: star\n`,
].join('\n');

/** A TCP relay to slapd that can hang up on its clients, as a server or a middlebox would. */
async function tcpProxy(port: number) {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((downstream) => {
    accepted++;
    const upstream = connect(port, '127.0.0.1');
    downstream.pipe(upstream).pipe(downstream);
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => { sockets.delete(s); downstream.destroy(); upstream.destroy(); });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    hangUp: () => { for (const s of sockets) s.destroy(); },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

let slapd: Slapd;
before(async () => { slapd = await startSlapd({ ldif: LDIF }); });
after(async () => { await slapd?.stop(); });

/** A provider on the test slapd: StartTLS verified against the test CA unless `extra` says otherwise. */
function ldap(extra: Record<string, unknown> = {}): FormProvider {
  const config = configSchema.parse({
    backend: 'fake',
    auth: {
      allow_all: true,
      providers: [{
        kind: 'ldap', server_address: slapd.host, server_port: slapd.port, tls: 'starttls', tls_ca_file: slapd.caFile,
        bind_dn_template: [`uid={username},${PEOPLE}`], ...extra,
      }],
    },
  });
  const entry = config.auth.providers[0]!;
  if (entry.kind !== 'ldap') throw new Error('test config');
  const p = ldapProvider(entry, config, { log: silentLogger, now: () => Date.now(), fetch });
  if (p.type !== 'form') throw new Error('ldap is a form provider');
  return p;
}
const lookup = { lookup_dn: true, user_search_base: S, bind_dn_template: [], lookup_dn_search_user: READER, lookup_dn_search_password: READER_PW };
const newBinds = (from: number) => slapd.binds().slice(from).map((b) => b.dn);

describe('bind_dn_template', () => {
  test('a user logs in by binding as the templated DN; templates are tried in order', async () => {
    const p = ldap({ bind_dn_template: [`uid={username},ou=staff,${S}`, `uid={username},${PEOPLE}`] });
    const b = slapd.binds().length;
    const claims = await p.check({ username: 'alice', password: pw('alice') });
    assert.equal(claims?.name, 'alice');
    assert.deepEqual(newBinds(b), [`uid=alice,ou=staff,${S}`, `uid=alice,${PEOPLE}`]);
    assert.equal((await p.check({ username: 'carol', password: pw('carol') }))?.name, 'carol', 'the first template');
  });

  test('wrong password and unknown user → null, not an error', async () => {
    const p = ldap();
    assert.equal(await p.check({ username: 'alice', password: 'wrong' }), null);
    assert.equal(await p.check({ username: 'alice', password: pw('bob') }), null);
    assert.equal(await p.check({ username: 'nobody', password: 'whatever' }), null);
  });

  test('uidNumber, gidNumber and homeDirectory become uid/gid/home; auth_state_attributes and the DN go to auth state', async () => {
    const claims = await ldap({ auth_state_attributes: ['mail', 'cn', 'description'] }).check({ username: 'alice', password: pw('alice') });
    assert.equal(claims?.uid, 1001);
    assert.equal(claims?.gid, 2001);
    assert.equal(claims?.home, '/home/alice');
    assert.deepEqual(claims?.authState, { dn: `uid=alice,${PEOPLE}`, attributes: { mail: ['alice@example.org'], cn: ['alice'], description: [] } });
    const plain = await ldap().check({ username: 'starling', password: pw('starling') });
    assert.equal(plain?.name, 'starling');
    assert.equal(plain?.uid, undefined, 'no posixAccount, no uid');
    assert.equal(plain?.home, undefined);
  });
});

describe('empty passwords', () => {
  test('this server accepts a DN with an empty password (an unauthenticated bind) — the hole', async () => {
    const c = new Client({ url: `ldap://127.0.0.1:${slapd.port}` });
    try {
      await c.bind(`uid=alice,${PEOPLE}`, '');
      await assert.rejects(c.bind(`uid=alice,${PEOPLE}`, 'wrong'), InvalidCredentialsError, 'while a wrong password is refused');
    } finally {
      await c.unbind();
    }
  });

  test('the provider refuses empty and blank passwords before anything reaches slapd', async () => {
    for (const p of [ldap(), ldap(lookup), ldap({ tls: 'none' })]) {
      const accepted = slapd.accepted();
      const binds = slapd.binds().length;
      for (const password of ['', ' ', '\t']) assert.equal(await p.check({ username: 'alice', password }), null);
      assert.equal(slapd.accepted(), accepted, 'no connection was opened');
      assert.equal(slapd.binds().length, binds, 'no bind was sent');
    }
  });
});

describe('lookup_dn (search, then bind)', () => {
  test('the service account finds the DN, then the user binds with their password', async () => {
    const b = slapd.binds().length;
    const claims = await ldap(lookup).check({ username: 'alice', password: pw('alice') });
    assert.equal(claims?.name, 'alice');
    assert.equal(claims?.uid, 1001);
    assert.deepEqual(newBinds(b), [READER, `uid=alice,${PEOPLE}`]);
    assert.equal(await ldap(lookup).check({ username: 'alice', password: 'wrong' }), null);
  });

  test("use_lookup_dn_username: the name is the directory's spelling (the policy then normalises it)", async () => {
    assert.equal((await ldap(lookup).check({ username: 'dave.smith', password: pw('Dave.Smith') }))?.name, 'Dave.Smith');
    assert.equal((await ldap({ ...lookup, use_lookup_dn_username: false }).check({ username: 'dave.smith', password: pw('Dave.Smith') }))?.name, 'dave.smith');
  });

  test('anonymous lookup when no service account is set', async () => {
    const b = slapd.binds().length;
    const { lookup_dn_search_user: _u, lookup_dn_search_password: _p, ...anonymous } = lookup;
    assert.equal((await ldap(anonymous).check({ username: 'carol', password: pw('carol') }))?.name, 'carol');
    assert.deepEqual(newBinds(b), [`uid=carol,ou=staff,${S}`]);
  });

  test('exactly one entry is required: none or two → null', async () => {
    assert.equal(await ldap(lookup).check({ username: 'nobody', password: 'whatever' }), null);
    const b = slapd.binds().length;
    assert.equal(await ldap(lookup).check({ username: 'twin', password: pw('twin') }), null);
    assert.deepEqual(newBinds(b), [READER], 'neither twin was bound');
  });

  test("a wrong service-account password is the hub's problem (LoginError), not the user's", async () => {
    await assert.rejects(ldap({ ...lookup, lookup_dn_search_password: 'wrong' }).check({ username: 'alice', password: pw('alice') }),
      (err: unknown) => err instanceof LoginError && err.kind === 'failed' && /lookup account/.test(err.message));
  });
});

describe('groups', () => {
  const allowed = [`cn=scientists,${GROUPS}`, `cn=lab,${GROUPS}`];

  test('a member of an allowed group (member or memberUid) gets allowed and those groups', async () => {
    const claims = await ldap({ allowed_groups: allowed }).check({ username: 'alice', password: pw('alice') });
    assert.equal(claims?.allowed, true);
    assert.deepEqual(claims?.groups?.sort(), ['lab', 'scientists']);
    const carol = await ldap({ allowed_groups: [`cn=staff,${GROUPS}`], bind_dn_template: [`uid={username},ou=staff,${S}`] }).check({ username: 'carol', password: pw('carol') });
    assert.equal(carol?.allowed, true);
    assert.deepEqual(carol?.groups, ['staff']);
  });

  test('a non-member is authenticated but gets no allowed claim', async () => {
    const claims = await ldap({ allowed_groups: allowed }).check({ username: 'bob', password: pw('bob') });
    assert.equal(claims?.name, 'bob');
    assert.equal(claims?.allowed, undefined);
    assert.deepEqual(claims?.groups, []);
  });

  test('group_search_base: every group the filter finds; without allowed_groups nothing is allowed', async () => {
    const claims = await ldap({ group_search_base: GROUPS }).check({ username: 'alice', password: pw('alice') });
    assert.deepEqual(claims?.groups?.sort(), ['lab', 'scientists']);
    assert.equal(claims?.allowed, undefined);
    const withRule = await ldap({ group_search_base: GROUPS, allowed_groups: [`cn=lab,${GROUPS}`] }).check({ username: 'alice', password: pw('alice') });
    assert.deepEqual(withRule?.groups?.sort(), ['lab', 'scientists']);
    assert.equal(withRule?.allowed, true);
    assert.equal((await ldap().check({ username: 'alice', password: pw('alice') }))?.groups, undefined, 'no group config: groups left alone');
  });

  test('an allowed group that does not exist matches nobody', async () => {
    const claims = await ldap({ allowed_groups: [`cn=ghosts,${GROUPS}`] }).check({ username: 'alice', password: pw('alice') });
    assert.equal(claims?.allowed, undefined);
    assert.deepEqual(claims?.groups, []);
  });
});

describe('hostile user names', () => {
  const open = { valid_username_regex: '^.+$' };

  test('valid_username_regex refuses them before any connection', async () => {
    const accepted = slapd.accepted();
    for (const name of ['*', ')(uid=*', 'alice,dc=example', 'al*', 'Alice']) {
      assert.equal(await ldap(lookup).check({ username: name, password: pw('alice') }), null, name);
    }
    assert.equal(slapd.accepted(), accepted);
  });

  test('let through, DN values are escaped: "alice,ou=people" does not become alice', async () => {
    const p = ldap({ ...open, bind_dn_template: [`uid={username},${S}`] });
    const b = slapd.binds().length;
    assert.equal(await p.check({ username: 'alice,ou=people', password: pw('alice') }), null);
    assert.deepEqual(newBinds(b), [`uid=alice\\2Cou\\3Dpeople,${S}`], 'one RDN whose value holds ",ou=people" (slapd logs it hex-escaped)');
    // and a real name with a comma binds as its own, escaped DN
    assert.equal((await ldap(open).check({ username: 'o,brien', password: pw('o,brien') }))?.name, 'o,brien');
  });

  test('let through, filter values are escaped: "al*" does not find alice, "star*" finds only itself', async () => {
    for (const name of ['al*', '*', ')(uid=*', 'alice)(|(uid=*']) {
      assert.equal(await ldap({ ...lookup, ...open }).check({ username: name, password: pw('alice') }), null, name);
    }
    assert.match(slapd.log(), /filter="\(uid=al\\2A\)"/i);
    const star = await ldap({ ...lookup, ...open, allowed_groups: [`cn=lab,${GROUPS}`] }).check({ username: 'star*', password: pw('star*') });
    assert.equal(star?.name, 'star*');
    assert.equal(star?.allowed, undefined, 'memberUid=star\\2a does not match the lab group (which lists "star")');
  });
});

describe('TLS', () => {
  test('LDAPS: the server is verified against tls_ca_file', async () => {
    const claims = await ldap({ tls: 'ldaps', server_port: slapd.ldapsPort }).check({ username: 'alice', password: pw('alice') });
    assert.equal(claims?.name, 'alice');
  });

  test('StartTLS: upgraded before the bind, verified against tls_ca_file', async () => {
    const before = slapd.log().length;
    assert.equal((await ldap().check({ username: 'alice', password: pw('alice') }))?.name, 'alice');
    const ops = slapd.log().slice(before);
    assert.ok(ops.indexOf('STARTTLS') >= 0 && ops.indexOf('TLS established') < ops.indexOf(' BIND '), ops);
  });

  for (const tls of ['ldaps', 'starttls'] as const) {
    test(`${tls}: a certificate from a CA not trusted is refused, and no password is sent`, async () => {
      const port = tls === 'ldaps' ? slapd.ldapsPort : slapd.port;
      for (const ca of [{ tls_ca_file: slapd.otherCaFile }, { tls_ca_file: undefined }]) {
        const binds = slapd.binds().length;
        await assert.rejects(ldap({ tls, server_port: port, ...ca }).check({ username: 'alice', password: pw('alice') }), (err: unknown) => {
          assert.ok(err instanceof LoginError, String(err));
          assert.equal(err.kind, 'failed');
          assert.equal(err.message, 'The directory server could not be reached');
          assert.match(err.detail ?? '', /certificate/i);
          return true;
        });
        assert.equal(slapd.binds().length, binds);
      }
    });
  }

  for (const tls of ['starttls', 'ldaps'] as const) {
    test(`${tls}: after the connection drops, the next bind fails at once and opens no new connection (ldapts alone re-opens it, or after StartTLS waits out the timeout)`, async () => {
      const proxy = await tcpProxy(tls === 'ldaps' ? slapd.ldapsPort! : slapd.port);
      const client = await openConnection({ host: '127.0.0.1', port: proxy.port, tls, ca: readFileSync(slapd.caFile), connectTimeoutMs: 5000, timeoutMs: 10000 });
      try {
        await client.bind(`uid=alice,${PEOPLE}`, pw('alice')); // connected (and upgraded)
        proxy.hangUp(); // the server went away between two operations
        await until('the client to notice', () => client.lost);
        await assert.rejects(client.bind(`uid=alice,${PEOPLE}`, pw('alice')), ConnectionLost);
        assert.equal(proxy.accepted(), 1, 'no second connection');
      } finally {
        await closeQuietly(client);
        await proxy.close();
      }
    });
  }

  test('StartTLS refused by a server without TLS: no bind, LoginError', async () => {
    const plain = await startSlapd({ ldif: LDIF, tls: false });
    try {
      const p = ldap({ server_port: plain.port });
      await assert.rejects(p.check({ username: 'alice', password: pw('alice') }), (err: unknown) => err instanceof LoginError && err.kind === 'failed' && /StartTLS|1\.3\.6\.1\.4\.1\.1466\.20037|unavailable|protocol/i.test(err.detail ?? ''));
      assert.deepEqual(plain.binds(), [], 'the password never left');
      assert.equal((await ldap({ server_port: plain.port, tls: 'none' }).check({ username: 'alice', password: pw('alice') }))?.name, 'alice', 'tls: none works on it');
    } finally {
      await plain.stop();
    }
  });
});

describe('through the hub login form', () => {
  const key = randomBytes(32).toString('hex');
  async function app(providerExtra: Record<string, unknown>, auth: Record<string, unknown> = {}) {
    return buildTestApp({
      config: {
        auth: {
          auth_state: { keys: [key] },
          providers: [{
            kind: 'ldap', server_address: slapd.host, server_port: slapd.port, tls_ca_file: slapd.caFile,
            bind_dn_template: [`uid={username},${PEOPLE}`], auth_state_attributes: ['mail'], ...providerExtra,
          }],
          ...auth,
        },
      },
    });
  }
  async function login(t: Awaited<ReturnType<typeof app>>, username: string, password: string) {
    const jar = new Jar();
    const page = jar.take(await t.app.request('/hub/login', { headers: { cookie: jar.header() } }));
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const f = form({ _xsrf: xsrf, provider: 'ldap', username, password });
    const res = jar.take(await t.app.request('/hub/login', { method: 'POST', body: f.body, headers: { ...f.headers, cookie: jar.header() } }));
    return { res, jar };
  }

  test('a member of an allowed group logs in; POSIX identity, groups and auth state are stored', async () => {
    const t = await app({ allowed_groups: [`cn=scientists,${GROUPS}`], group_search_base: GROUPS });
    const { res, jar } = await login(t, 'alice', pw('alice'));
    assert.equal(res.status, 302, await res.clone().text());
    assert.ok(jar.get('jupyterhub-hub-login'));
    const user = await t.userAuth('alice');
    assert.equal(user?.posixUid, 1001);
    assert.equal(user?.posixGid, 2001);
    assert.equal(user?.homeDir, '/home/alice');
    assert.equal(user?.provider, 'ldap');
    assert.deepEqual(authStateCrypt(t.config).decrypt(user?.authState), { dn: `uid=alice,${PEOPLE}`, attributes: { mail: ['alice@example.org'] } });
    const groups = await t.db
      .select({ name: schema.groups.name }).from(schema.userGroups)
      .innerJoin(schema.groups, eq(schema.groups.id, schema.userGroups.groupId))
      .where(eq(schema.userGroups.userId, user!.userId));
    assert.deepEqual(groups.map((g) => g.name).sort(), ['lab', 'scientists']);
    const me = await t.app.request('/hub/api/user', { headers: { cookie: jar.header() } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { name: string }).name, 'alice', 'the session works');
  });

  test('a non-member, a wrong password and an empty one get "Invalid username or password" (403)', async () => {
    const t = await app({ allowed_groups: [`cn=scientists,${GROUPS}`] });
    assert.deepEqual(t.config.auth.allowed_users, []);
    for (const [u, p] of [['bob', pw('bob')], ['alice', 'wrong'], ['alice', '']]) {
      const { res } = await login(t, u!, p!);
      assert.equal(res.status, 403, `${u}/${p}`);
      assert.match(await res.text(), /Invalid username or password/);
    }
    assert.equal(await t.db.query.users.findFirst({ where: eq(schema.users.name, 'bob') }), undefined, 'bob was not created');
  });

  test("the hub's allowed_groups (LDAP group names) let a member in too", async () => {
    const t = await app({ group_search_base: GROUPS }, { allowed_groups: ['staff'] });
    assert.equal((await login(t, 'carol', pw('carol'))).res.status, 403, 'carol is under ou=staff: this template does not find her');
    const t2 = await app({ group_search_base: GROUPS, bind_dn_template: [`uid={username},ou=staff,${S}`] }, { allowed_groups: ['staff'] });
    assert.equal((await login(t2, 'carol', pw('carol'))).res.status, 302);
  });

  test('a directory that cannot be reached is a 502 saying so', async () => {
    const t = await app({ tls_ca_file: slapd.otherCaFile });
    const { res } = await login(t, 'alice', pw('alice'));
    assert.equal(res.status, 502);
    assert.match(await res.text(), /The directory server could not be reached/);
  });
});

test('every connection the provider opened is closed again', async () => {
  await until('slapd to see every connection closed', () => slapd.closed() === slapd.accepted() || undefined);
  assert.ok(slapd.accepted() > 20, `accepted ${slapd.accepted()}`);
});
