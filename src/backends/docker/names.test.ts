import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VOLUME_NAME, containerName, escapeDockerName, homeVolumeName, unescapeDockerName } from './names.ts';

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

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
