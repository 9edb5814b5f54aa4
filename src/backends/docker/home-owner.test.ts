import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownNewHome, homeOwner } from './home-owner.ts';
import type { DockerPort } from './port.ts';
import { configSchema } from '../../config/schema.ts';
import { silentLogger } from '../../log.ts';

test('the new home goes to who the server runs as: runAs, else the image USER; never chowned for root', () => {
  assert.equal(homeOwner({}, 'jovyan'), 'jovyan');
  assert.equal(homeOwner({}, '4321:4321'), '4321:4321');
  assert.equal(homeOwner({ runAs: '1001:100' }, 'jovyan'), '1001:100');
  for (const [runAs, image] of [[undefined, undefined], [undefined, 'root'], [undefined, '0:0'], ['0', 'jovyan']] as const) {
    assert.equal(homeOwner({ runAs }, image), undefined, `${runAs} ${image}`);
  }
});

/** A DockerPort stand-in for chownNewHome: each chown container exits and prints as `answer` says. */
function fakePort(answer: (entrypoint: string[]) => { code: number; output: string }) {
  const ran: string[][] = [];
  let last: string[] = [];
  const port = {
    async createContainer(body: { Entrypoint: string[] }) { last = body.Entrypoint; ran.push(last); return `c${ran.length}`; },
    async startContainer() {},
    async waitContainer() { return answer(last).code; },
    async containerLogs() { return answer(last).output; },
    async removeContainer() {},
  };
  return { port: port as unknown as DockerPort, ran };
}

const home = { type: 'volume' as const, source: 'jupyter-a', target: '/home/jovyan', home: true };
const args = (port: DockerPort, imageId: string) => ({ port, config: configSchema.parse({}), log: silentLogger, image: 'img', imageId, home, owner: 'jovyan', name: 'jupyter-a', kind: 'docker' });

test('a home the image already gives to the user (chown -c changes nothing) is not chowned again for that image', async () => {
  const { port, ran } = fakePort(() => ({ code: 0, output: '' }));
  await chownNewHome(args(port, 'sha256:same'));
  await chownNewHome(args(port, 'sha256:same'));
  assert.deepEqual(ran, [['chown', '-c', 'jovyan', '/home/jovyan']]);
  await chownNewHome(args(port, 'sha256:other'));
  assert.equal(ran.length, 2, 'another image is checked');
});

test('a home chown changed is chowned at every new volume; a chown without -c runs plain', async () => {
  const changed = fakePort(() => ({ code: 0, output: "changed ownership of '/home/jovyan' from root to jovyan\n" }));
  await chownNewHome(args(changed.port, 'sha256:changes'));
  await chownNewHome(args(changed.port, 'sha256:changes'));
  assert.equal(changed.ran.length, 2);
  const noFlag = fakePort((e) => (e.includes('-c') ? { code: 1, output: 'chown: invalid option -- c' } : { code: 0, output: '' }));
  await chownNewHome(args(noFlag.port, 'sha256:noflag'));
  await chownNewHome(args(noFlag.port, 'sha256:noflag'));
  assert.deepEqual(noFlag.ran, [['chown', '-c', 'jovyan', '/home/jovyan'], ['chown', 'jovyan', '/home/jovyan'], ['chown', '-c', 'jovyan', '/home/jovyan'], ['chown', 'jovyan', '/home/jovyan']]);
});
