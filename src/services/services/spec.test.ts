// A service entry's keys (JupyterHub's Service traits) and their defaults: which services are OAuth
// clients, with what client id, redirect URI and scopes; and what the schema refuses at start-up.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../config/schema.ts';
import { serviceOAuth, servicePrefix } from './spec.ts';

const parse = (services: unknown[], base_url = '/') => configSchema.safeParse({ hub: { base_url }, services });
const problems = (services: unknown[]) => {
  const r = parse(services);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const svc = (extra: Record<string, unknown>) => ({ name: 'whoami', api_token: 'whoami-token-1', ...extra });

describe('services[] keys', () => {
  test('JupyterHub defaults: a url makes an OAuth client service-<name> at <base_url>services/<name>/oauth_callback', () => {
    const r = parse([svc({ url: 'http://127.0.0.1:10101' })], '/jh/');
    assert.ok(r.success);
    assert.deepEqual(serviceOAuth(r.data.services[0]!, '/jh/'), {
      clientId: 'service-whoami', redirectUri: '/jh/services/whoami/oauth_callback', allowedScopes: ['access:services!service=whoami'], noConfirm: false,
    });
    assert.equal(servicePrefix('/jh/', 'whoami'), '/jh/services/whoami/');
  });

  test('no url and no OAuth key: an API client only (the culler), no OAuth', () => {
    const r = parse([svc({ scopes: ['list:users'] })]);
    assert.ok(r.success);
    assert.equal(serviceOAuth(r.data.services[0]!, '/'), undefined);
    // oauth_no_confirm: false is the default, not an OAuth setting (traitlets reports no change)
    const r2 = parse([svc({ oauth_no_confirm: false })]);
    assert.ok(r2.success);
    assert.equal(serviceOAuth(r2.data.services[0]!, '/'), undefined);
  });

  test('explicit OAuth keys without a url: an OAuth client, which then needs oauth_redirect_uri', () => {
    const r = parse([svc({ oauth_redirect_uri: 'https://lms.example.org/cb', oauth_client_allowed_scopes: ['read:users!user', 'read:users!user'], oauth_no_confirm: true })]);
    assert.ok(r.success);
    assert.deepEqual(serviceOAuth(r.data.services[0]!, '/'), {
      clientId: 'service-whoami', redirectUri: 'https://lms.example.org/cb', allowedScopes: ['access:services!service=whoami', 'read:users!user'], noConfirm: true,
    });
    assert.deepEqual(problems([svc({ oauth_client_id: 'service-x' })]), ['services.0.oauth_redirect_uri: required for a service with OAuth settings but no url']);
    assert.deepEqual(problems([svc({ oauth_no_confirm: true })]), ['services.0.oauth_redirect_uri: required for a service with OAuth settings but no url']);
  });

  test('refused: a client id not starting with service-, a url that is not http(s), unknown scopes, a missing api_token', () => {
    assert.deepEqual(problems([svc({ url: 'http://127.0.0.1:1', oauth_client_id: 'whoami' })]), ["services.0.oauth_client_id: must start with 'service-' (as JupyterHub requires)"]);
    assert.deepEqual(problems([svc({ url: 'ftp://127.0.0.1/' })]), ['services.0.url: an http:// or https:// URL such as http://127.0.0.1:10101']);
    assert.deepEqual(problems([svc({ url: '127.0.0.1:10101' })]), ['services.0.url: an http:// or https:// URL such as http://127.0.0.1:10101']);
    assert.deepEqual(problems([svc({ url: 'http://127.0.0.1:1', oauth_client_allowed_scopes: ['read:everything'] })]), ['services.0.oauth_client_allowed_scopes.0: not a scope Berth knows']);
    assert.deepEqual(problems([{ name: 'whoami', url: 'http://127.0.0.1:1' }]), ['services.0.api_token: Invalid input: expected string, received undefined']);
  });

  test("a hub-managed service's keys (command, environment, cwd, user) are refused with the reason", () => {
    const msg = 'Berth does not start services: run the service yourself (systemd, a container…) and give its url';
    assert.deepEqual(problems([svc({ command: ['python3', 'whoami.py'], environment: { A: '1' } })]), [`services.0.command: ${msg}`, `services.0.environment: ${msg}`]);
  });

  test('display, info and the access rule are accepted as given', () => {
    const r = parse([svc({ url: 'http://127.0.0.1:1', display: false, info: { owner: 'ops', n: 1 }, access_all_users: false, access_users: ['alice'], access_groups: ['staff'] })]);
    assert.ok(r.success);
    const s = r.data.services[0]!;
    assert.deepEqual([s.display, s.info, s.access_users, s.access_groups], [false, { owner: 'ops', n: 1 }, ['alice'], ['staff']]);
  });
});
