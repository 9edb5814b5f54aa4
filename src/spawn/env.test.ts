// The spawned environment against checklist H1–H8 (spec A.2, A.3), and the ServerSpec built from it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../config/schema.ts';
import { serverEnv } from './env.ts';
import { buildServerSpec, parseByteSize } from './spec.ts';

const TOKEN = '0123456789abcdef0123456789abcdef';
const config = (c: ConfigInput = {}) => configSchema.parse(c);
const envFor = (user: string, server: string, c: ConfigInput = {}, bindIp = '0.0.0.0') =>
  serverEnv({ config: config(c), hubUrl: 'http://host.docker.internal:8000', bindIp, user, server, token: TOKEN, image: 'quay.io/jupyter/base-notebook:latest' });

describe('serverEnv', () => {
  test('H1: JUPYTERHUB_API_TOKEN equals JPY_API_TOKEN, 32 hex', () => {
    const env = envFor('alice', '');
    assert.equal(env.JUPYTERHUB_API_TOKEN, TOKEN);
    assert.equal(env.JPY_API_TOKEN, TOKEN);
    assert.match(env.JUPYTERHUB_API_TOKEN!, /^[0-9a-f]{32}$/);
  });

  test('H2: client id, quoted, with -<server> for named servers; @ is %40', () => {
    assert.equal(envFor('alice', '').JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-alice');
    assert.equal(envFor('alice', 'srv1').JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-alice-srv1');
    assert.equal(envFor('a@b.c', '').JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-a%40b.c');
  });

  test('H3: service prefix; @ stays unescaped in paths', () => {
    assert.equal(envFor('alice', '').JUPYTERHUB_SERVICE_PREFIX, '/user/alice/');
    assert.equal(envFor('alice', 'srv1').JUPYTERHUB_SERVICE_PREFIX, '/user/alice/srv1/');
    assert.equal(envFor('a@b.c', '').JUPYTERHUB_SERVICE_PREFIX, '/user/a@b.c/');
  });

  test('H4: service URL is http://<bind ip>:<port><prefix>; IPv6 in brackets', () => {
    assert.equal(envFor('alice', '').JUPYTERHUB_SERVICE_URL, 'http://0.0.0.0:8888/user/alice/');
    assert.equal(envFor('alice', 'srv1', { spawner: { port: 9999 } }, '127.0.0.1').JUPYTERHUB_SERVICE_URL, 'http://127.0.0.1:9999/user/alice/srv1/');
    assert.equal(envFor('alice', '', {}, '::').JUPYTERHUB_SERVICE_URL, 'http://[::]:8888/user/alice/');
  });

  test('H5: OAuth callback is <prefix>oauth_callback, relative', () => {
    assert.equal(envFor('alice', '').JUPYTERHUB_OAUTH_CALLBACK_URL, '/user/alice/oauth_callback');
    assert.equal(envFor('alice', 'srv1').JUPYTERHUB_OAUTH_CALLBACK_URL, '/user/alice/srv1/oauth_callback');
  });

  test('H6: access scopes and the deprecated alias are the same JSON list', () => {
    const env = envFor('alice', '');
    assert.deepEqual(JSON.parse(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES!), ['access:servers!server=alice/', 'access:servers!user=alice']);
    assert.equal(env.JUPYTERHUB_OAUTH_SCOPES, env.JUPYTERHUB_OAUTH_ACCESS_SCOPES);
    assert.deepEqual(JSON.parse(envFor('alice', 'srv1').JUPYTERHUB_OAUTH_SCOPES!), ['access:servers!server=alice/srv1', 'access:servers!user=alice']);
    assert.equal(env.JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES, '[]');
    const allowed = envFor('alice', '', { spawner: { oauth_client_allowed_scopes: ['read:users:name!user'] } });
    assert.deepEqual(JSON.parse(allowed.JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES!), ['read:users:name!user']);
  });

  test('H7: API URL ends in /hub/api without a slash; activity URL escapes the name', () => {
    const env = envFor('a@b.c', '');
    assert.equal(env.JUPYTERHUB_API_URL, 'http://host.docker.internal:8000/hub/api');
    assert.equal(env.JUPYTERHUB_ACTIVITY_URL, 'http://host.docker.internal:8000/hub/api/users/a@b.c/activity');
    assert.equal(envFor('x y', '').JUPYTERHUB_ACTIVITY_URL, 'http://host.docker.internal:8000/hub/api/users/x%20y/activity');
    const based = envFor('alice', '', { hub: { base_url: '/jh/' } });
    assert.equal(based.JUPYTERHUB_API_URL, 'http://host.docker.internal:8000/jh/hub/api');
    assert.equal(based.JUPYTERHUB_BASE_URL, '/jh/');
    assert.equal(based.JUPYTERHUB_SERVICE_PREFIX, '/jh/user/alice/');
  });

  test('H8: base URL /, empty host and public URLs, empty server name for the default server', () => {
    const env = envFor('alice', '');
    assert.equal(env.JUPYTERHUB_BASE_URL, '/');
    assert.equal(env.JUPYTERHUB_HOST, '');
    assert.equal(env.JUPYTERHUB_PUBLIC_URL, '');
    assert.equal(env.JUPYTERHUB_PUBLIC_HUB_URL, '');
    assert.equal(env.JUPYTERHUB_SERVER_NAME, '');
    assert.equal(env.JUPYTERHUB_USER, 'alice');
    assert.equal(envFor('alice', 'srv1').JUPYTERHUB_SERVER_NAME, 'srv1');
  });

  test('optional variables appear only when configured; spawner.environment wins', () => {
    const plain = envFor('alice', '');
    assert.equal(plain.JUPYTERHUB_DEFAULT_URL, undefined);
    assert.equal(plain.MEM_LIMIT, undefined);
    assert.equal(plain.JUPYTER_IMAGE_SPEC, 'quay.io/jupyter/base-notebook:latest');
    const env = serverEnv({
      config: config({ spawner: { default_url: '/lab', environment: { JUPYTERHUB_ACTIVITY_INTERVAL: '15', JUPYTERHUB_HOST: 'https://hub.example.org' } } }),
      hubUrl: 'http://127.0.0.1:8000', bindIp: '0.0.0.0', user: 'alice', server: '', token: TOKEN, image: 'img', memLimit: 1024, cpuLimit: 1.5,
    });
    assert.equal(env.JUPYTERHUB_DEFAULT_URL, '/lab');
    assert.equal(env.MEM_LIMIT, '1024');
    assert.equal(env.CPU_LIMIT, '1.5');
    assert.equal(env.JUPYTERHUB_ACTIVITY_INTERVAL, '15');
    assert.equal(env.JUPYTERHUB_HOST, 'https://hub.example.org');
  });
});

describe('buildServerSpec', () => {
  const input = (c: ConfigInput = {}, token = TOKEN) => ({ config: config(c), hubUrl: 'http://127.0.0.1:8000', bindIp: '0.0.0.0', user: 'alice', server: 'srv1', token });

  test('parses DockerSpawner sizes as powers of 1024', () => {
    assert.equal(parseByteSize('2G'), 2 * 1024 ** 3);
    assert.equal(parseByteSize('512M'), 512 * 1024 ** 2);
    assert.equal(parseByteSize('1.5k'), 1536);
    assert.equal(parseByteSize('100'), 100);
    assert.equal(parseByteSize(4096), 4096);
    assert.equal(parseByteSize(undefined), undefined);
    assert.throws(() => parseByteSize('lots'));
  });

  test('carries image, command, port, limits, labels and the env', () => {
    const spec = buildServerSpec(input({ spawner: { image: 'img:1', cmd: ['jupyterhub-singleuser'], args: ['--debug'], port: 9000, mem_limit: '1G', cpu_limit: 2 } }));
    assert.equal(spec.image, 'img:1');
    assert.deepEqual(spec.cmd, ['jupyterhub-singleuser']);
    assert.deepEqual(spec.args, ['--debug']);
    assert.equal(spec.port, 9000);
    assert.equal(spec.memLimit, 1024 ** 3);
    assert.equal(spec.cpuLimit, 2);
    assert.equal(spec.env.MEM_LIMIT, String(1024 ** 3));
    assert.equal(spec.env.JUPYTERHUB_SERVICE_URL, 'http://0.0.0.0:9000/user/alice/srv1/');
    assert.deepEqual(spec.labels, { 'berth.user': 'alice', 'berth.server': 'srv1', 'berth.config-hash': spec.configHash });
    assert.equal(spec.user, 'alice');
    assert.equal(spec.serverName, 'srv1');
  });

  test('config hash ignores the per-spawn token but follows the settings', () => {
    const a = buildServerSpec(input({}, TOKEN));
    const b = buildServerSpec(input({}, 'ffffffffffffffffffffffffffffffff'));
    assert.equal(a.configHash, b.configHash);
    assert.notEqual(a.env.JUPYTERHUB_API_TOKEN, b.env.JUPYTERHUB_API_TOKEN);
    assert.notEqual(buildServerSpec(input({ spawner: { image: 'other' } })).configHash, a.configHash);
    assert.notEqual(buildServerSpec(input({ spawner: { mem_limit: '1G' } })).configHash, a.configHash);
    assert.notEqual(buildServerSpec(input({ spawner: { environment: { X: '1' } } })).configHash, a.configHash);
  });
});
