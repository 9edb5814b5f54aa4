// The CAS provider with a scripted fetch: the URLs it builds, the claims it reports from an answer
// (required attributes, groups, user-name attribute), how each kind of failure is classed, and the
// config's refusal of plain http outside loopback. The round trip against a CAS server is in
// test/integration/cas.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { casProvider, serviceUrl, validateUrl, VALIDATE_TIMEOUT_MS } from './index.ts';
import { casConfig } from './config.ts';
import { isLoopback as isLoopbackHost } from '../common-config.ts';
import { LoginError } from '../types.ts';
import { silentLogger } from '../../../log.ts';
import { configSchema } from '../../../config/schema.ts';
import { ownAllowRules } from '../allow-rules.ts';
import { hasOwnAllowRule } from '../../../../test/helpers/own-rule.ts';

const NS = 'xmlns:cas="http://www.yale.edu/tp/cas"';
const CALLBACK = 'https://hub.example.edu/hub/oauth_callback';

function success(user: string, attrs: Record<string, string[]> = {}) {
  const a = Object.entries(attrs).flatMap(([k, vs]) => vs.map((v) => `<cas:${k}>${v}</cas:${k}>`)).join('');
  return `<cas:serviceResponse ${NS}><cas:authenticationSuccess><cas:user>${user}</cas:user><cas:attributes>${a}</cas:attributes></cas:authenticationSuccess></cas:serviceResponse>`;
}
const failure = (code: string) => `<cas:serviceResponse ${NS}><cas:authenticationFailure code="${code}">no</cas:authenticationFailure></cas:serviceResponse>`;

/** A provider whose fetch answers with `answer` and records what it was asked. */
function provider(entry: Record<string, unknown>, answer: (url: string) => Response | Promise<Response>) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, init });
    return answer(url);
  }) as typeof globalThis.fetch;
  const parsed = casConfig.parse({ kind: 'cas', server_url: 'https://cas.example.edu/cas', ...entry });
  return { p: casProvider(parsed, undefined as never, { log: silentLogger, now: () => 0, fetch }), calls };
}
const xmlAnswer = (body: string, status = 200) => () => new Response(body, { status, headers: { 'content-type': 'application/xml' } });
const complete = (p: ReturnType<typeof provider>['p'], ticket: string | null = 'ST-1-abc', state = 'the-state') =>
  p.complete({ callbackUrl: CALLBACK, state, params: new URLSearchParams(ticket === null ? {} : { state, ticket }), saved: {} });

async function rejectsWith(promise: Promise<unknown>, kind: LoginError['kind'], message?: RegExp, detail?: string) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof LoginError, String(err));
    assert.equal(err.kind, kind);
    if (message) assert.match(err.message, message);
    if (detail !== undefined) assert.equal(err.detail, detail);
    return true;
  });
}

describe('URLs', () => {
  test('begin: <server_url>/login?service=<callback with state>, nothing saved', async () => {
    const { p } = provider({}, xmlAnswer(''));
    const { url, saved } = await p.begin({ callbackUrl: CALLBACK, state: 'abc_-123' });
    assert.equal(url, 'https://cas.example.edu/cas/login?service=https%3A%2F%2Fhub.example.edu%2Fhub%2Foauth_callback%3Fstate%3Dabc_-123');
    assert.equal(saved, undefined);
  });

  test('serviceUrl keeps the callback URL\'s own query, drops a fragment, and is the same every time', () => {
    assert.equal(serviceUrl(`${CALLBACK}?x=1#f`, 's'), `${CALLBACK}?x=1&state=s`);
    assert.equal(serviceUrl(`${CALLBACK}?x=1#f`, 's'), serviceUrl(`${CALLBACK}?x=1#f`, 's'));
    assert.equal(serviceUrl(CALLBACK, 'a b/+'), `${CALLBACK}?state=a+b%2F%2B`);
  });

  test('validation: /p3/serviceValidate (3.0) or /serviceValidate (2.0) with service and ticket only; a trailing slash in server_url is fine', () => {
    const e3 = casConfig.parse({ kind: 'cas', server_url: 'https://cas.example.edu/cas/' });
    const e2 = casConfig.parse({ kind: 'cas', server_url: 'https://cas.example.edu/cas', protocol: '2.0' });
    assert.equal(validateUrl(e3, `${CALLBACK}?state=s`, 'ST-1'), 'https://cas.example.edu/cas/p3/serviceValidate?service=https%3A%2F%2Fhub.example.edu%2Fhub%2Foauth_callback%3Fstate%3Ds&ticket=ST-1');
    assert.equal(validateUrl(e2, 'https://h/cb', 'ST-2'), 'https://cas.example.edu/cas/serviceValidate?service=https%3A%2F%2Fh%2Fcb&ticket=ST-2');
  });

  test('complete validates with the service URL begin sent, GET, no redirects followed, under a timeout', async () => {
    const { p, calls } = provider({}, xmlAnswer(success('alice')));
    const { url } = await p.begin({ callbackUrl: CALLBACK, state: 'st' });
    await complete(p, 'ST-9-xyz', 'st');
    assert.equal(calls.length, 1);
    const asked = new URL(calls[0]!.url);
    assert.equal(asked.searchParams.get('service'), new URL(url).searchParams.get('service'));
    assert.equal(asked.searchParams.get('ticket'), 'ST-9-xyz');
    assert.deepEqual([...asked.searchParams.keys()], ['service', 'ticket']);
    assert.equal(calls[0]!.init?.method ?? 'GET', 'GET');
    assert.equal(calls[0]!.init?.redirect, 'error');
    assert.ok(calls[0]!.init?.signal instanceof AbortSignal);
    assert.equal(VALIDATE_TIMEOUT_MS, 10_000);
  });
});

describe('claims', () => {
  test('the CAS user as the name, attributes in auth state; no rule set: allowed and groups left unset', async () => {
    const { p } = provider({}, xmlAnswer(success('Alice', { mail: ['a@x'] })));
    const claims = await complete(p);
    assert.equal(claims.name, 'Alice'); // normalising is the policy's job
    assert.equal(claims.allowed, undefined);
    assert.equal(claims.groups, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(claims.authState)), { attributes: { mail: ['a@x'] } });
    assert.equal(hasOwnAllowRule({ kind: 'cas', server_url: 'https://cas.example.edu/cas' }), false);
  });

  test('required_attributes: every one must match; a multi-valued attribute matches on any value', async () => {
    const attrs = { affiliation: ['student', 'staff'], dept: ['physics'] };
    const all = provider({ required_attributes: { affiliation: 'staff', dept: 'physics' } }, xmlAnswer(success('u', attrs)));
    assert.equal(hasOwnAllowRule({ kind: 'cas', server_url: 'https://cas.example.edu/cas', required_attributes: { affiliation: 'staff', dept: 'physics' } }), true);
    assert.equal((await complete(all.p)).allowed, true);
    const one = provider({ required_attributes: { affiliation: 'staff', dept: 'chemistry' } }, xmlAnswer(success('u', attrs)));
    assert.equal((await complete(one.p)).allowed, undefined);
    const absent = provider({ required_attributes: { entitlement: 'hub' } }, xmlAnswer(success('u', attrs)));
    assert.equal((await complete(absent.p)).allowed, undefined);
    const caseDiffers = provider({ required_attributes: { affiliation: 'Staff' } }, xmlAnswer(success('u', attrs)));
    assert.equal((await complete(caseDiffers.p)).allowed, undefined);
  });

  test('an attribute named like an Object property is only an attribute', async () => {
    const { p } = provider({ required_attributes: { constructor: 'x' }, group_attribute: 'toString' }, xmlAnswer(success('u')));
    const claims = await complete(p);
    assert.equal(claims.allowed, undefined);
    assert.deepEqual(claims.groups, []);
  });

  test('group_attribute: all its values become groups; absent, no groups (so membership is cleared)', async () => {
    const withGroups = provider({ group_attribute: 'memberOf' }, xmlAnswer(success('u', { memberOf: ['a', 'R&amp;D'] })));
    assert.deepEqual((await complete(withGroups.p)).groups, ['a', 'R&D']);
    const none = provider({ group_attribute: 'memberOf' }, xmlAnswer(success('u')));
    assert.deepEqual((await complete(none.p)).groups, []);
  });

  test('username_attribute: its one value is the name; missing or ambiguous is refused', async () => {
    const one = provider({ username_attribute: 'uid' }, xmlAnswer(success('cas-id-123', { uid: ['jdoe', 'jdoe'] })));
    assert.equal((await complete(one.p)).name, 'jdoe');
    const missing = provider({ username_attribute: 'uid' }, xmlAnswer(success('cas-id-123')));
    await rejectsWith(complete(missing.p), 'refused', /no "uid"/);
    const two = provider({ username_attribute: 'uid' }, xmlAnswer(success('cas-id-123', { uid: ['a', 'b'] })));
    await rejectsWith(complete(two.p), 'refused', /more than one "uid"/);
  });

  test('the label and name default to CAS; both can be set', async () => {
    assert.equal(provider({}, xmlAnswer('')).p.label, 'Sign in with CAS');
    const named = provider({ name: 'campus', label: 'University login' }, xmlAnswer(''));
    assert.deepEqual([named.p.name, named.p.label, named.p.kind, named.p.type], ['campus', 'University login', 'cas', 'redirect']);
  });
});

describe('failures', () => {
  test('no ticket, or one no CAS server would issue: invalid, and the server is not asked', async () => {
    for (const t of [null, '', 'ST 1', 'ST-\n1', 'x'.repeat(1025)]) {
      const { p, calls } = provider({}, xmlAnswer(success('u')));
      await rejectsWith(complete(p, t), 'invalid', /without a sign-in ticket/);
      assert.equal(calls.length, 0);
    }
  });

  test('the server\'s authenticationFailure: refused, with its code as the detail (also when sent with an error status)', async () => {
    for (const code of ['INVALID_TICKET', 'INVALID_SERVICE', 'INVALID_REQUEST', 'INTERNAL_ERROR']) {
      await rejectsWith(complete(provider({}, xmlAnswer(failure(code))).p), 'refused', /^The CAS server did not accept the sign-in ticket$/, code);
    }
    await rejectsWith(complete(provider({}, xmlAnswer(failure('INVALID_TICKET'), 400)).p), 'refused', undefined, 'INVALID_TICKET');
  });

  test('unreachable, timed out, or redirected elsewhere: failed', async () => {
    await rejectsWith(complete(provider({}, () => { throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }); }).p), 'failed', /could not be reached/, 'Error: ECONNREFUSED');
    await rejectsWith(complete(provider({}, () => { throw new DOMException('The operation was aborted due to timeout', 'TimeoutError'); }).p), 'failed', /could not be reached/);
    await rejectsWith(complete(provider({}, () => { throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') }); }).p), 'failed', /could not be reached/);
  });

  test('garbage, a DOCTYPE, a success with an error status, an oversized or non-UTF-8 answer: failed, never a login', async () => {
    const cases: Array<() => Response> = [
      xmlAnswer('<html>Maintenance</html>'),
      xmlAnswer('Internal Server Error', 500),
      xmlAnswer(`<!DOCTYPE x [<!ENTITY a "alice">]>${success('&a;')}`),
      xmlAnswer(success('alice'), 500),
      xmlAnswer(''),
      () => new Response(`${success('alice')}<!--${'x'.repeat(1 << 20)}-->`),
      () => new Response(new Uint8Array([0x3c, 0x72, 0x3e, 0xff, 0x3c, 0x2f, 0x72, 0x3e])),
    ];
    for (const answer of cases) await rejectsWith(complete(provider({}, answer).p), 'failed', /could not read/);
  });
});

describe('config', () => {
  const parse = (e: Record<string, unknown>) => casConfig.safeParse({ kind: 'cas', ...e });

  test('https anywhere; plain http only on loopback or with allow_insecure_http', () => {
    assert.ok(parse({ server_url: 'https://cas.example.edu/cas' }).success);
    for (const u of ['http://127.0.0.1:8443/cas', 'http://localhost/cas', 'http://[::1]:9000/cas', 'http://127.1.2.3/cas']) assert.ok(parse({ server_url: u }).success, u);
    const r = parse({ server_url: 'http://cas.example.edu/cas' });
    assert.ok(!r.success);
    assert.deepEqual(r.error.issues.map((i) => i.path.join('.')), ['server_url']);
    assert.match(r.error.issues[0]!.message, /allow_insecure_http/);
    assert.ok(parse({ server_url: 'http://cas.example.edu/cas', allow_insecure_http: true }).success);
    assert.ok(!parse({ server_url: 'http://127.0.0.1.example.com/cas' }).success);
  });

  test('other schemes, queries, fragments and credentials in server_url are refused; unknown keys too', () => {
    for (const u of ['ftp://cas.example.edu/cas', 'https://cas.example.edu/cas?x=1', 'https://cas.example.edu/cas#f', 'https://u:p@cas.example.edu/cas', 'not a url']) {
      assert.ok(!parse({ server_url: u }).success, u);
    }
    assert.ok(!parse({ server_url: 'https://cas.example.edu/cas', cas_login_url: 'x' }).success);
  });

  test('isLoopbackHost', () => {
    assert.deepEqual(['localhost', 'LOCALHOST.', 'a.localhost', '127.0.0.1', '[::1]', '10.0.0.1', 'localhost.example', '[::ffff:1.2.3.4]'].map(isLoopbackHost), [true, true, true, true, true, false, false, false]);
  });

  test('the whole config parses with a CAS entry, and its allow rule is required_attributes', () => {
    const config = configSchema.parse({ backend: 'fake', auth: { providers: [{ kind: 'cas', server_url: 'https://cas.example.edu/cas', required_attributes: { affiliation: 'staff' } }] } });
    assert.deepEqual(ownAllowRules(config.auth.providers[0]!), ['required_attributes']);
    assert.throws(() => configSchema.parse({ backend: 'fake', auth: { providers: [{ kind: 'cas', server_url: 'http://cas.example.edu/cas' }] } }));
  });
});
