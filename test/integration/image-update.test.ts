// Image updates and pull policies against the real engine and a real registry (docker-registry on
// loopback): a re-tagged image reaches a returning user at the next start with their home kept,
// `always` picks up a re-pushed tag, `if-not-present` keeps the local copy, and a real pull streams
// rising percentages into the spawn's progress. (`never` with a missing image and its message:
// docker.backend.test.ts.) Images are built here FROM berth-test/tiny with a tar context (no
// internet); everything is named berthimg-<run>, images carry the label berthimg.run=<run>, and
// containers, volumes, images, local tags and the registry's storage are removed afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import type { ServerSpec } from '../../src/backends/types.ts';
import { startRegistry, type Registry } from '../helpers/registry.ts';
import { shellIn } from '../helpers/docker-shell.ts';
import { tinySpec } from '../helpers/tiny-spec.ts';

const TINY = 'berth-test/tiny:latest';
const RUN = randomBytes(4).toString('hex');
const PREFIX = `berthimg-${RUN}`;
const HOME = '/home/jovyan';
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

function config(pull_policy: NonNullable<ConfigInput['docker']>['pull_policy'] = 'if-not-present') {
  return configSchema.parse({
    backend: 'docker',
    spawner: { image: TINY },
    docker: { pull_policy, name_prefix: PREFIX, home_volume: `${PREFIX}-home-{username}`, extra_labels: { 'berth.test': '1' } },
  });
}

async function backendWith(policy: Parameters<typeof config>[0]) {
  const backend = new DockerBackend(config(policy), silentLogger);
  await backend.init({ port: 8000 });
  return backend;
}

function spec(user: string, image: string): ServerSpec {
  return tinySpec(user, { image }, config('if-not-present'));
}

let users = 0;
const user = () => `img${RUN}-${++users}`;

/**
 * `docker build` of a Dockerfile FROM tiny through the engine API, with a tar context of `files`
 * (dockerode packs the directory); returns the image id. Every image carries berthimg.run=<run>.
 */
async function build(tag: string, dockerfile: string[], files: Record<string, Buffer> = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'berthimg-ctx-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), [`FROM ${TINY}`, `LABEL berthimg.run=${RUN}`, ...dockerfile, ''].join('\n'));
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile', ...Object.keys(files)] }, { t: tag, rm: true, forcerm: true });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
        const failed = err?.message ?? out.find((o) => o.error)?.error;
        if (failed) reject(new Error(`docker build ${tag}: ${failed}`));
        else resolve();
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return (await docker.getImage(tag).inspect()).Id;
}

/** A variant of tiny whose /variant file and berthimg.variant label say `name`. */
const variant = (name: string) => build(`${PREFIX}-${name}:1`, [`LABEL berthimg.variant=${name}`, `RUN echo ${name} > /variant`]);

/** Points `name` (repo:tag) at image `id`, moving the tag if it exists. */
async function tag(id: string, name: string) {
  const at = name.lastIndexOf(':');
  await docker.getImage(id).tag({ repo: name.slice(0, at), tag: name.slice(at + 1) });
}

const untag = (name: string) => docker.getImage(name).remove();

/** The image a container runs: its id and what the image itself says (label and /variant). */
async function runs(containerId: string) {
  const info = await docker.getContainer(containerId).inspect();
  return { image: info.Image, label: info.Config.Labels['berthimg.variant'], file: (await shellIn(containerId, 'cat /variant')).trim() };
}

/**
 * Removes what a run created: containers named or labelled with its prefix, its home volumes, every
 * image labelled berthimg.run=<run> (with all their tags: local names and registry names alike).
 * With `run` unset, whatever any killed earlier run of this file left (the berthimg- prefix).
 */
async function removeObjects(run?: string) {
  const prefix = run ? `berthimg-${run}` : 'berthimg-';
  const mine = (name: string) => name.replace(/^\//, '').startsWith(prefix);
  for (const c of await docker.listContainers({ all: true, filters: { label: ['berth.test=1'] } })) {
    if (c.Names.some(mine)) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  }
  for (const v of (await docker.listVolumes({ filters: { label: ['berth.test=1'] } })).Volumes ?? []) {
    if (mine(v.Name)) await docker.getVolume(v.Name).remove().catch(() => {});
  }
  const images = await docker.listImages({ all: true, filters: { label: [run ? `berthimg.run=${run}` : 'berthimg.run'] } });
  for (const i of images) await docker.getImage(i.Id).remove({ force: true }).catch(() => {});
}

describe('image updates and pull policies', { timeout: 300_000 }, () => {
  let registry: Registry;

  before(async () => {
    await removeObjects();
    registry = await startRegistry();
  });
  after(async () => {
    await removeObjects(RUN);
    await registry?.close(); // stops it and deletes its storage: every pushed manifest and blob
    const left = await docker.listImages({ all: true, filters: { label: [`berthimg.run=${RUN}`] } });
    assert.deepEqual(left.map((i) => i.RepoTags), [], 'no image of this run left');
  });

  test('a server made from an old image gets the re-tagged one at its next start, the home files kept; a stopped container left behind is replaced too', async () => {
    const [v1, v2, v3] = [await variant('v1'), await variant('v2'), await variant('v3')];
    assert.equal(new Set([v1, v2, v3]).size, 3);
    const T = `${PREFIX}-app:latest`;
    await tag(v1, T);
    const backend = await backendWith('if-not-present');
    const u = user();

    const first = await backend.start(spec(u, T), () => {});
    assert.deepEqual(await runs(String(first.ref.id)), { image: v1, label: 'v1', file: 'v1' });
    assert.equal(await shellIn(String(first.ref.id), `echo written-on-v1 > ${HOME}/keep && cat ${HOME}/keep`), 'written-on-v1\n');
    await backend.stop(first.ref);

    await tag(v2, T); // the admin re-tags: T is now v2, v1 still exists locally
    const second = await backend.start(spec(u, T), () => {});
    assert.notEqual(second.ref.id, first.ref.id);
    assert.deepEqual(await runs(String(second.ref.id)), { image: v2, label: 'v2', file: 'v2' });
    assert.equal(await shellIn(String(second.ref.id), `cat ${HOME}/keep`), 'written-on-v1\n');
    await shellIn(String(second.ref.id), `echo written-on-v2 >> ${HOME}/keep`);

    // The server exits (or a Berth crashed before stop): the stopped container from v2 is still there.
    await docker.getContainer(String(second.ref.id)).stop({ t: 1 });
    await tag(v3, T);
    const third = await backend.start(spec(u, T), () => {});
    await assert.rejects(docker.getContainer(String(second.ref.id)).inspect(), (e: { statusCode?: number }) => e.statusCode === 404, 'old container removed');
    assert.deepEqual(await runs(String(third.ref.id)), { image: v3, label: 'v3', file: 'v3' });
    assert.equal(await shellIn(String(third.ref.id), `cat ${HOME}/keep`), 'written-on-v1\nwritten-on-v2\n');
    await backend.stop(third.ref);
  });

  describe('pull policies with a re-pushed tag', () => {
    let A: string;
    let B: string;
    let R: string;
    before(async () => {
      [A, B] = [await variant('pushed-first'), await variant('pushed-second')];
      R = registry.push(A, `${PREFIX}/app:v1`); // also tags A as R locally
      await untag(R); // the host has not pulled R yet
    });

    test("always: the first start pulls the tag (image A); after B is pushed under the same tag, the next start runs B", async () => {
      const backend = await backendWith('always');
      const u = user();
      const seen: string[] = [];
      const first = await backend.start(spec(u, R), (_p, m) => seen.push(m));
      assert.ok(seen.includes(`Pulling image ${R}`) && seen.includes(`Pulled image ${R}`), seen.join(' | '));
      assert.deepEqual(await runs(String(first.ref.id)), { image: A, label: 'pushed-first', file: 'pushed-first' });
      await backend.stop(first.ref);

      registry.push(B, `${PREFIX}/app:v1`);
      await tag(A, R); // the local copy is yesterday's: only the registry has B under R
      assert.equal((await docker.getImage(R).inspect()).Id, A);
      const second = await backend.start(spec(u, R), () => {});
      assert.deepEqual(await runs(String(second.ref.id)), { image: B, label: 'pushed-second', file: 'pushed-second' });
      assert.equal((await docker.getImage(R).inspect()).Id, B, 'the local tag now names B');
      await backend.stop(second.ref);
    });

    test('if-not-present: the local copy of the tag is used although the registry has a newer image; no pull', async () => {
      const backend = await backendWith('if-not-present');
      const pushed = await fetch(`http://${registry.address}/v2/${PREFIX}/app/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      assert.equal(pushed.status, 200, 'the registry has R');
      await tag(A, R); // local R is A, the registry's is B (pushed by the previous test)
      const seen: string[] = [];
      const { ref } = await backend.start(spec(user(), R), (_p, m) => seen.push(m));
      assert.deepEqual(await runs(String(ref.id)), { image: A, label: 'pushed-first', file: 'pushed-first' });
      assert.deepEqual(seen.filter((m) => m.startsWith('Pull')), [], seen.join(' | '));
      await backend.stop(ref);
    });
  });

  test('a real pull streams rising percentages into the progress events, each naming the image', async () => {
    // Four layers of 2 MB of random (incompressible) bytes: the engine reports each layer's download
    // and extraction, so the pull passes through several percentages even over loopback.
    const files = Object.fromEntries([1, 2, 3, 4].map((i) => [`big${i}`, randomBytes(2 * 1024 * 1024)]));
    const big = await build(`${PREFIX}-big:1`, Object.keys(files).map((f) => `COPY ${f} /${f}`), files);
    const image = registry.push(big, `${PREFIX}/big:v1`);
    await docker.getImage(big).remove({ force: true }); // its layers leave the host: only the registry has them
    assert.equal(await docker.getImage(image).inspect().catch(() => null), null);

    const backend = await backendWith('if-not-present');
    const events: { percent: number; message: string }[] = [];
    const { ref } = await backend.start(spec(user(), image), (percent, message) => events.push({ percent, message }));
    assert.equal((await docker.getContainer(String(ref.id)).inspect()).Image, big, 'the pulled image is the one pushed');
    await backend.stop(ref);

    const trace = events.map((e) => `${e.percent} ${e.message}`).join(' | ');
    for (const e of events) assert.ok(Number.isInteger(e.percent) && e.percent >= 0 && e.percent <= 99, trace);
    const pulls = events.filter((e) => e.message.startsWith('Pull'));
    assert.ok(pulls.every((e) => e.message.includes(image)), trace);
    assert.equal(pulls[0]?.message, `Pulling image ${image}`, trace);
    assert.equal(pulls.at(-1)?.message, `Pulled image ${image}`, trace);
    const rising = pulls.slice(1, -1).map((e) => {
      const m = /^Pulling image (.+): (\d+)%$/.exec(e.message);
      assert.ok(m && m[1] === image, trace);
      return { percent: e.percent, shown: Number(m[2]) };
    });
    assert.ok(rising.length >= 2, `at least two pull percentages: ${trace}`);
    for (let i = 1; i < rising.length; i++) {
      assert.ok(rising[i]!.shown > rising[i - 1]!.shown && rising[i]!.percent >= rising[i - 1]!.percent, trace);
    }
    assert.ok(rising.some((r) => r.shown > 0 && r.shown < 100), `a percentage between 0 and 100: ${trace}`);
    for (const r of rising) assert.ok(r.shown >= 0 && r.shown <= 100, trace);
    console.log(`pull progress of ${image}: ${rising.map((r) => `${r.shown}%`).join(' → ')}`);
  });
});
