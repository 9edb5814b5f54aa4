// The LDAP provider without a directory: its config checks, what it refuses before opening any
// connection, and how an unreachable server or unreadable CA file is reported. The logins
// themselves run against a real slapd in test/integration/ldap.test.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { configSchema } from '../../../config/schema.ts';
import { ldapConfig } from './config.ts';
import { ldapProvider } from './index.ts';
import { LoginError, type ProviderDeps } from '../types.ts';
import type { Logger } from '../../../log.ts';
import { freePort } from '../../../../test/helpers/berth-process.ts';
import { hasOwnAllowRule } from '../../../../test/helpers/own-rule.ts';

type Line = { level: string; msg: string; fields: Record<string, unknown> | undefined };
function recordingDeps(): ProviderDeps & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => { lines.push({ level, msg, fields }); };
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, now: () => 0, fetch: () => Promise.reject(new Error('no fetch')), lines };
}

function provider(extra: Record<string, unknown>, deps = recordingDeps()) {
  const config = configSchema.parse({ backend: 'fake', auth: { allow_all: true, providers: [{ kind: 'ldap', server_address: '127.0.0.1', bind_dn_template: ['uid={username},ou=people,dc=example,dc=org'], ...extra }] } });
  const entry = config.auth.providers[0]!;
  if (entry.kind !== 'ldap') throw new Error('test config');
  return { p: ldapProvider(entry, config, deps), deps };
}

describe('ldap config', () => {
  const base = { kind: 'ldap', server_address: 'ldap.example.org' };
  const problems = (o: Record<string, unknown>) => {
    const r = ldapConfig.safeParse({ ...base, ...o });
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };
  test('a bind template or lookup_dn with a search base is required', () => {
    assert.match(problems({}).join(), /bind_dn_template/);
    assert.match(problems({ lookup_dn: true }).join(), /user_search_base/);
    assert.deepEqual(problems({ lookup_dn: true, user_search_base: 'ou=people,dc=example,dc=org' }), []);
    assert.notDeepEqual(problems({ bind_dn_template: ['uid=x,dc=example,dc=org'] }), [], 'a template without {username}');
  });
  test('a lookup account needs its password: a DN with no password is an unauthenticated bind', () => {
    const lookup = { lookup_dn: true, user_search_base: 'dc=example,dc=org' };
    assert.match(problems({ ...lookup, lookup_dn_search_user: 'cn=reader,dc=example,dc=org' }).join(), /go together/);
    assert.match(problems({ ...lookup, lookup_dn_search_user: 'cn=reader,dc=example,dc=org', lookup_dn_search_password: '' }).join(), /go together/);
    assert.deepEqual(problems({ ...lookup, lookup_dn_search_user: 'cn=reader,dc=example,dc=org', lookup_dn_search_password: 'pw' }), []);
  });
  test('server address, regex, attribute names and the group filter are checked', () => {
    const t = { bind_dn_template: ['uid={username},dc=example,dc=org'] };
    assert.match(problems({ ...t, server_address: 'ldaps://ldap.example.org' }).join(), /without ldap:\/\//);
    assert.match(problems({ ...t, server_address: 'ldap.example.org:636' }).join(), /without ldap:\/\//);
    assert.deepEqual(problems({ ...t, server_address: '::1' }), []);
    assert.match(problems({ ...t, valid_username_regex: '([a-z' }).join(), /regular expression/);
    assert.match(problems({ ...t, user_attribute: 'uid)(x' }).join(), /attribute name/);
    assert.match(problems({ ...t, auth_state_attributes: ['mail', '*'] }).join(), /attribute name/);
    assert.match(problems({ ...t, group_search_filter: '(member={userdn}' }).join(), /search filter/);
  });
  test('defaults: StartTLS on 389 semantics, uid, cn, the member/uniqueMember/memberUid filter', () => {
    const c = ldapConfig.parse({ ...base, bind_dn_template: ['uid={username},dc=example,dc=org'] });
    assert.equal(c.tls, 'starttls');
    assert.equal(c.user_attribute, 'uid');
    assert.equal(c.group_name_attribute, 'cn');
    assert.equal(c.group_search_filter, '(|(member={userdn})(uniqueMember={userdn})(memberUid={username}))');
  });
});

describe('ldap provider without a directory', () => {
  let server: Server;
  let port: number;
  let connections = 0;
  before(async () => {
    server = createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('a form provider; its own allow rule is allowed_groups', () => {
    const { p } = provider({ server_port: 389 });
    assert.equal(p.type, 'form');
    assert.equal(p.name, 'ldap');
    assert.equal(hasOwnAllowRule({ kind: 'ldap', server_address: '127.0.0.1', bind_dn_template: ['uid={username},ou=people,dc=example,dc=org'] }), false);
    assert.equal(hasOwnAllowRule({ kind: 'ldap', server_address: '127.0.0.1', bind_dn_template: ['uid={username},ou=people,dc=example,dc=org'], allowed_groups: ['cn=staff,ou=groups,dc=example,dc=org'] }), true);
  });

  test('empty or blank passwords and names outside valid_username_regex never open a connection', async () => {
    const { p, deps } = provider({ server_port: port, tls: 'none' });
    if (p.type !== 'form') throw new Error('form provider');
    for (const [username, password] of [['alice', ''], ['alice', '   '], ['alice', '\t\n'], ['Alice', 'pw'], ['*', 'pw'], [')(uid=*', 'pw'], ['a,dc=org', 'pw'], ['', 'pw']]) {
      assert.equal(await p.check({ username: username!, password: password! }), null, JSON.stringify([username, password]));
    }
    assert.equal(connections, 0, 'nothing reached the server');
    assert.ok(deps.lines.some((l) => l.msg.includes('empty password')));
    // the same provider does connect for a well-formed attempt (the server hangs up: unreachable)
    await assert.rejects(p.check({ username: 'alice', password: 'pw' }), LoginError);
    assert.equal(connections, 1);
  });

  test('an unreachable server is a LoginError "failed", not a wrong password', async () => {
    const closed = await freePort();
    for (const tls of ['none', 'starttls', 'ldaps']) {
      const { p } = provider({ server_port: closed, tls });
      if (p.type !== 'form') throw new Error('form provider');
      await assert.rejects(p.check({ username: 'alice', password: 'pw' }), (err: unknown) => {
        assert.ok(err instanceof LoginError);
        assert.equal(err.kind, 'failed');
        assert.equal(err.message, 'The directory server could not be reached');
        assert.match(err.detail ?? '', new RegExp(`127\\.0\\.0\\.1:${closed}.*ECONNREFUSED`));
        return true;
      }, tls);
    }
  });

  test('an unreadable tls_ca_file is logged at construction and named at each login', async () => {
    const { p, deps } = provider({ server_port: port, tls_ca_file: '/nonexistent/ca.pem' });
    if (p.type !== 'form') throw new Error('form provider');
    assert.ok(deps.lines.some((l) => l.level === 'error' && String(l.fields?.detail).includes('/nonexistent/ca.pem')));
    const before = connections;
    await assert.rejects(p.check({ username: 'alice', password: 'pw' }), (err: unknown) => err instanceof LoginError && err.kind === 'failed' && /\/nonexistent\/ca\.pem.*ENOENT/.test(err.detail ?? ''));
    assert.equal(connections, before, 'no connection without the CA');
  });

  test('tls: none is allowed, with a warning at start', () => {
    const { deps } = provider({ tls: 'none' });
    assert.ok(deps.lines.some((l) => l.level === 'warn' && l.msg.includes('unencrypted')));
    assert.ok(!provider({ tls: 'ldaps' }).deps.lines.some((l) => l.level === 'warn'));
  });
});
