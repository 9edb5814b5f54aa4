// The prune job against the real engine, run through runJob with a test clock set from the engine's own
// creation times (so grace periods are crossed by moving the clock, not by waiting): a container with
// Berth's labels that no row owns goes only once past orphan_grace; a stopped one only stopped_age
// after it stopped; one without Berth's labels — same name prefix — never. A deleted user's home
// volume is reported, then removed in 'remove' mode after volume_grace; kept in 'keep'; an existing
// user's volume and an unlabelled one never. Everything is named berthprune-<random>, labelled berth.test=1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { removeTestObjects } from '../helpers/berth-process.ts';
import { until } from '../helpers/until.ts';
import { buildTestApp, testClock } from '../helpers/app.ts';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { LABELS, volumeLabels } from '../../src/backends/docker/container-spec.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import { jobSpecs, runJob } from '../../src/worker/jobs/index.ts';
import { schema } from '../../db/client.ts';
import { eq } from 'drizzle-orm';

const TINY = 'berth-test/tiny:latest';
const PREFIX = `berthprune-${randomBytes(3).toString('hex')}`;
const GRACE = 60;
const STOPPED_AGE = 600;
const VOLUME_GRACE = 3600;
const docker = new Docker();

function config(prune: NonNullable<ConfigInput['worker']>['prune'] = {}): ConfigInput {
  return {
    backend: 'docker',
    spawner: { image: TINY },
    docker: { name_prefix: PREFIX, home_volume: `${PREFIX}-home-{username}`, extra_labels: { 'berth.test': '1' } },
    worker: { prune: { orphan_grace: GRACE, stopped_age: STOPPED_AGE, volume_grace: VOLUME_GRACE, ...prune } },
  };
}

async function app(prune: NonNullable<ConfigInput['worker']>['prune'] = {}) {
  const clock = testClock(Date.now());
  const backend = new DockerBackend(configSchema.parse(config(prune)), silentLogger);
  const t = await buildTestApp({ runner: false, clock, backend, config: config(prune) });
  const spec = jobSpecs(t.ctx, { acting: () => true }).find((s) => s.name === 'prune')!;
  return { t, clock, backend, prune: () => runJob(t.ctx, spec) };
}

/** A container as Berth would label a server of `user` (or with no Berth label at all), running `cmd`. */
async function container(name: string, user: string | undefined, cmd: string[]) {
  const berth: Record<string, string> = user === undefined ? {} : { [LABELS.managedBy]: 'berth', [LABELS.instance]: PREFIX, [LABELS.user]: user, [LABELS.server]: '', [LABELS.port]: '8888' };
  const c = await docker.createContainer({ name: `${PREFIX}-${name}`, Image: TINY, Cmd: cmd, Labels: { 'berth.test': '1', ...berth }, HostConfig: { RestartPolicy: { Name: 'no' } } });
  await c.start();
  return c.id;
}

const exists = (id: string) => docker.getContainer(id).inspect().then(() => true, () => false);
const volumeNames = async () => new Set(((await docker.listVolumes({ filters: { name: [PREFIX] } })).Volumes ?? []).map((v) => v.Name));

describe('prune job against the real engine', { timeout: 120_000 }, () => {
  before(() => removeTestObjects('berthprune-')); // what a killed earlier run left
  after(() => removeTestObjects(PREFIX));

  test('a labelled container no row owns goes only after orphan_grace; an unlabelled one with the same prefix never', async () => {
    const { t, clock, backend, prune } = await app();
    await t.createUser('alice'); // exists, but no server row owns the container
    const orphan = await container('alice', 'alice', ['sleep', '3600']);
    const unlabelled = await container('unlabelled', undefined, ['sleep', '3600']);
    const listed = (await backend.list()).find((l) => l.ref.id === orphan)!;
    assert.ok(listed.createdAt, 'the engine says when it was created');
    assert.equal((await backend.list()).some((l) => l.ref.id === unlabelled), false, 'the label filter never lists it');

    clock.set(listed.createdAt + GRACE * 1000 - 1);
    await prune();
    assert.ok(await exists(orphan), 'kept within the grace');
    clock.set(listed.createdAt + GRACE * 1000);
    const result = await prune() as { containers: { removed: { name: string; why: string }[] } };
    assert.deepEqual(result.containers.removed, [{ name: `${PREFIX}-alice`, user: 'alice', server: '', why: 'orphan' }]);
    assert.equal(await exists(orphan), false);
    const [audit] = await t.db.select().from(schema.audit).where(eq(schema.audit.action, 'prune.container'));
    assert.equal(audit?.target, 'alice/');

    clock.advance(365 * 86400_000);
    await prune();
    assert.ok(await exists(unlabelled), 'never anything without Berth\'s labels');
  });

  test('a labelled container that stopped goes stopped_age after it stopped (the engine\'s FinishedAt)', async () => {
    const { t, clock, backend, prune } = await app();
    await t.createUser('bob');
    const id = await container('bob', 'bob', ['true']);
    await until('it exited', async () => (await docker.getContainer(id).inspect()).State.Status === 'exited', 20_000, 100);
    const listed = (await backend.list()).find((l) => l.ref.id === id)!;
    assert.equal(listed.running, false);
    assert.ok(listed.finishedAt && listed.createdAt && listed.finishedAt >= listed.createdAt, JSON.stringify(listed));
    clock.set(listed.finishedAt + STOPPED_AGE * 1000 - 1);
    await prune();
    assert.ok(await exists(id), 'kept for stopped_age (its logs readable)');
    clock.set(listed.finishedAt + STOPPED_AGE * 1000);
    await prune();
    assert.equal(await exists(id), false);
  });

  test("a deleted user's home volume: reported, removed in 'remove' mode after volume_grace; an existing user's and an unlabelled one never", async () => {
    const { t, clock, prune } = await app({ deleted_user_volumes: 'report' });
    await t.createUser('carol');
    const cfg = configSchema.parse(config());
    const ghost = `${PREFIX}-home-ghost`;
    const carol = `${PREFIX}-home-carol`;
    const plain = `${PREFIX}-home-plain`;
    await docker.createVolume({ Name: ghost, Labels: volumeLabels(cfg, 'ghost') });
    await docker.createVolume({ Name: carol, Labels: volumeLabels(cfg, 'carol') });
    await docker.createVolume({ Name: plain, Labels: { 'berth.test': '1', [LABELS.user]: 'ghost' } });

    const first = clock.now();
    const report = await prune() as { volumes: { mode: string; reported: { name: string; user: string }[]; removed: string[] } };
    assert.deepEqual(report.volumes.reported.map((r) => [r.name, r.user]), [[ghost, 'ghost']], 'the dry run lists it, and only it');
    clock.set(first + VOLUME_GRACE * 10_000);
    await prune();
    assert.deepEqual(await volumeNames(), new Set([ghost, carol, plain]), "'report' removes nothing");

    t.ctx.config = configSchema.parse({ ...t.ctx.config, worker: { ...t.ctx.config.worker, prune: { ...t.ctx.config.worker.prune, deleted_user_volumes: 'remove' } } });
    const removed = await prune() as { volumes: { removed: string[] } };
    assert.deepEqual(removed.volumes.removed, [ghost], 'reported long enough ago: removed');
    assert.deepEqual(await volumeNames(), new Set([carol, plain]));
  });

  test("'keep' never reports or removes a deleted user's volume", async () => {
    const { clock, prune } = await app({ deleted_user_volumes: 'keep' });
    const ghost = `${PREFIX}-home-ghost2`;
    await docker.createVolume({ Name: ghost, Labels: volumeLabels(configSchema.parse(config()), 'ghost2') });
    assert.deepEqual((await prune() as { volumes: unknown }).volumes, { mode: 'keep' });
    clock.advance(VOLUME_GRACE * 10_000);
    await prune();
    assert.ok((await volumeNames()).has(ghost));
  });
});
