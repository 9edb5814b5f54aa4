import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  DNS_LABEL, VOLUME_NAME, containerName, containerNameBeforeLimits, dnsLabel, escapeDnsLabel, escapeDockerName, homeVolumeName, unescapeDnsLabel, unescapeDockerName,
} from './names.ts';

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

test('escaping keeps [a-z0-9] and hex-escapes everything else, including - _ . and upper case', () => {
  assert.equal(escapeDockerName('alice'), 'alice');
  assert.equal(escapeDockerName('alice-x'), 'alice_2dx');
  assert.equal(escapeDockerName('a_b.C'), 'a_5fb_2e_43');
  assert.equal(escapeDockerName('é'), '_c3_a9');
  assert.equal(escapeDockerName('a b/c'), 'a_20b_2fc');
});

test('escaping round-trips (so it is injective)', () => {
  for (const s of ['', 'alice', 'Alice', 'al_2dice', 'a-b', 'x@y.org', '日本', '_', '__', 'a--b', '🙂 -_.']) {
    assert.equal(unescapeDockerName(escapeDockerName(s)), s);
  }
});

test('container names never collide on tricky (user, server) pairs', () => {
  const pairs: [string, string][] = [
    ['alice-x', ''], ['alice', 'x'], ['alice', '-x'], ['alice-', 'x'], ['alice--x', ''], ['alice', ''],
    ['Alice', ''], ['alice_2dx', ''], ['alice_2d', 'x'], ['a', 'b--c'], ['a--b', 'c'], ['a-', '-b'], ['a', '_2db'],
    ['x@y', ''], ['x_40y', ''], ['a.b', ''], ['a_2eb', ''],
  ];
  const names = pairs.map(([u, s]) => containerName('jupyter', u, s));
  assert.equal(new Set(names).size, pairs.length, names.join(' '));
  for (const n of names) assert.match(n, DOCKER_NAME);
});

test('container and volume names use the same escaped user', () => {
  assert.equal(containerName('jupyter', 'alice', ''), 'jupyter-alice');
  assert.equal(containerName('jupyter', 'Bob.Smith', 'my lab'), 'jupyter-_42ob_2e_53mith--my_20lab');
  assert.equal(homeVolumeName('jupyter-{username}', 'Bob.Smith'), 'jupyter-_42ob_2e_53mith');
  assert.equal(homeVolumeName('home-{username}-{username}', 'a-b'), 'home-a_2db-a_2db');
  assert.match(homeVolumeName('jupyter-{username}', 'x@y'), VOLUME_NAME);
  // A template starting with the user can yield a name Docker refuses; the backend checks VOLUME_NAME.
  assert.doesNotMatch(homeVolumeName('{username}', '_x'), VOLUME_NAME);
});

// What earlier versions produced (computed with the code before length limits): every name that fits
// its limit must come out exactly the same, so existing containers and home volumes are still found.
const PINNED_CONTAINERS: [string, string, string][] = [
  ['alice', '', 'jupyter-alice'],
  ['alice', 'lab', 'jupyter-alice--lab'],
  ['alice', 'my lab', 'jupyter-alice--my_20lab'],
  ['alice', 'gpu-1', 'jupyter-alice--gpu_2d1'],
  ['bob', '', 'jupyter-bob'],
  ['Bob.Smith', '', 'jupyter-_42ob_2e_53mith'],
  ['Bob.Smith', 'my lab', 'jupyter-_42ob_2e_53mith--my_20lab'],
  ['john.doe@example.org', '', 'jupyter-john_2edoe_40example_2eorg'],
  ['john.doe@example.org', 'my lab', 'jupyter-john_2edoe_40example_2eorg--my_20lab'],
  ['maria-jose', 'gpu-1', 'jupyter-maria_2djose--gpu_2d1'],
  ['user_1', 'lab', 'jupyter-user_5f1--lab'],
  ['élodie', '', 'jupyter-_c3_a9lodie'],
  ['日本', 'lab', 'jupyter-_e6_97_a5_e6_9c_ac--lab'],
  ['a', 'gpu-1', 'jupyter-a--gpu_2d1'],
  ['x'.repeat(55), '', `jupyter-${'x'.repeat(55)}`], // exactly 63
];
const PINNED_VOLUMES: [string, string][] = [
  ['alice', 'jupyter-alice'],
  ['Bob.Smith', 'jupyter-_42ob_2e_53mith'],
  ['john.doe@example.org', 'jupyter-john_2edoe_40example_2eorg'],
  ['maria-jose', 'jupyter-maria_2djose'],
  ['user_1', 'jupyter-user_5f1'],
  ['élodie', 'jupyter-_c3_a9lodie'],
  ['日本', 'jupyter-_e6_97_a5_e6_9c_ac'],
  ['x'.repeat(200), `jupyter-${'x'.repeat(200)}`], // long, but within 255
];

test('names within their limits are exactly what earlier versions made', () => {
  for (const [u, s, want] of PINNED_CONTAINERS) {
    assert.equal(containerName('jupyter', u, s), want);
    assert.equal(containerNameBeforeLimits('jupyter', u, s), want);
  }
  // The name an overlong one had before: what a stopped container from an earlier version is called.
  assert.equal(containerNameBeforeLimits('jupyter', 'x'.repeat(55), 'gpu-1'), `jupyter-${'x'.repeat(55)}--gpu_2d1`);
  for (const [u, want] of PINNED_VOLUMES) assert.equal(homeVolumeName('jupyter-{username}', u), want);
});

/** 130 bits of SHA-256 as base32, computed bit by bit (an independent check of names.ts's packing). */
function digest32(s: string): string {
  const bits = [...createHash('sha256').update(s).digest()].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < 26; i++) out += 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
  return out;
}

test('a container name that would pass 63 characters keeps a readable head and the digest of the whole escaped name', () => {
  const user = 'x'.repeat(55);
  const long = containerName('jupyter', user, 'lab'); // would be 68
  assert.equal(long.length, 63);
  assert.equal(long, `jupyter-${'x'.repeat(27)}-z${digest32(`${user}--lab`)}`);
  assert.match(long, DOCKER_NAME);
  // The head is cut at the separator: a trailing '-' is dropped before the marker.
  const cut = containerName('jupyter', 'y'.repeat(26), 'z'.repeat(40));
  assert.equal(cut, `jupyter-${'y'.repeat(26)}-z${digest32(`${'y'.repeat(26)}--${'z'.repeat(40)}`)}`);
  assert.notEqual(containerName('jupyter', user, 'lab2'), long);
  assert.throws(() => containerName('p'.repeat(35), 'a'.repeat(40), ''), /no room/);
  assert.equal(containerName('p'.repeat(34), 'a'.repeat(40), '').length, 63);
});

test('a home volume name that would pass 255 characters is shortened in each {username}', () => {
  const user = 'Ω'.repeat(60); // escapes to 360 characters
  const v = homeVolumeName('home-{username}', user);
  assert.equal(v.length, 255);
  assert.equal(v, `home-${escapeDockerName(user).slice(0, 250 - 28)}-z${digest32(escapeDockerName(user))}`);
  assert.match(v, VOLUME_NAME);
  const twice = homeVolumeName('h-{username}.{username}', user);
  const [a, b] = twice.slice(2).split('.');
  assert.equal(a, b);
  assert.ok(twice.length <= 255 && VOLUME_NAME.test(twice), twice);
  // Docker refuses one-character and 256-character volume names.
  assert.doesNotMatch('a', VOLUME_NAME);
  assert.doesNotMatch('a'.repeat(256), VOLUME_NAME);
  assert.match('a'.repeat(255), VOLUME_NAME);
});

test('DNS labels: lower-case [a-z0-9-], at most 63, injective escaping, readable', () => {
  assert.equal(dnsLabel('jupyter', 'alice', ''), 'jupyter-alice');
  assert.equal(dnsLabel('jupyter', 'alice', 'lab'), 'jupyter-alice--lab');
  assert.equal(dnsLabel('jupyter', 'Bob.Smith', 'my lab'), 'jupyter--42ob-2e-53mith--my-20lab');
  assert.equal(dnsLabel('jupyter', 'alice-x', ''), 'jupyter-alice-2dx');
  assert.notEqual(dnsLabel('jupyter', 'alice', 'x'), dnsLabel('jupyter', 'alice-x', ''));
  for (const s of ['', 'alice', 'Alice', 'a-2db', 'a--b', '🙂 -_.', '日本', 'e\u0301', '\u00e9']) {
    assert.equal(unescapeDnsLabel(escapeDnsLabel(s)), s);
  }
  const long = dnsLabel('jupyter', 'Ü'.repeat(40), 'lab');
  assert.equal(long.length, 63);
  assert.match(long, DNS_LABEL);
  assert.equal(long, `jupyter-${escapeDnsLabel('Ü'.repeat(40)).slice(0, 27)}-z${digest32(`${escapeDnsLabel('Ü'.repeat(40))}--lab`)}`);
  assert.throws(() => dnsLabel('Jupyter', 'a', ''), /prefix/);
  assert.throws(() => dnsLabel('xn--ab', 'a', ''), /prefix/);
  assert.throws(() => dnsLabel('p'.repeat(25), 'a', ''), /prefix/);
  assert.throws(() => dnsLabel('jupyter', '', ''), /empty/);
});

test('a lone surrogate does not fold into U+FFFD (it would with plain UTF-8)', () => {
  const names = ['\ud800', '\ufffd', '\udc00', 'a\ud83d', 'a\ud83d\ude42', '\ude42'];
  const docker = names.map((n) => escapeDockerName(n));
  const dns = names.map((n) => escapeDnsLabel(n));
  assert.equal(new Set(docker).size, names.length, docker.join(' '));
  assert.equal(new Set(dns).size, names.length, dns.join(' '));
  for (const n of names) {
    assert.equal(unescapeDockerName(escapeDockerName(n)), n);
    assert.equal(unescapeDnsLabel(escapeDnsLabel(n)), n);
  }
  // Well-formed text is plain UTF-8: the emoji is F0 9F 99 82.
  assert.equal(escapeDockerName('🙂'), '_f0_9f_99_82');
});
