// Pre-pull against the real engine and a real registry (docker-registry on loopback): the job makes a
// missing image present, leaves a present one alone under if-not-present, refreshes it under always,
// pulls nothing under never, and reports an image the registry does not have as an error of the run.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { eq } from 'drizzle-orm';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { silentLogger } from '../../src/log.ts';
import { schema } from '../../db/client.ts';
import { jobSpecs, runJob, PREPULL } from '../../src/worker/jobs/index.ts';
import { buildTestApp } from '../helpers/app.ts';
import { startRegistry, type Registry } from '../helpers/registry.ts';

const RUN = randomBytes(3).toString('hex');
const docker = new Docker();
let registry: Registry;
let image: string;
const present = async (name: string) => !!(await docker.getImage(name).inspect().catch(() => null));
const untag = (name: string) => execFileSync('docker', ['image', 'rm', name], { stdio: 'ignore' });

async function app(pull_policy: 'if-not-present' | 'always' | 'never', images: string[], spawnerImage = 'berth-test/tiny:latest') {
  const config = { backend: 'docker' as const, spawner: { image: spawnerImage }, docker: { pull_policy, name_prefix: `berthpull${RUN}` }, worker: { prepull: { images } } };
  const t = await buildTestApp({ runner: false, config });
  const backend = new DockerBackend(t.ctx.config, silentLogger);
  t.ctx.backend = backend;
  const spec = jobSpecs(t.ctx, { acting: () => true }).find((s) => s.name === PREPULL)!;
  return { t, run: () => runJob(t.ctx, spec), row: () => t.db.query.workerJobs.findFirst({ where: eq(schema.workerJobs.name, PREPULL) }) };
}

describe('pre-pull from a registry', { timeout: 120_000 }, () => {
  before(async () => {
    registry = await startRegistry();
    image = registry.push('berth-test/tiny:latest', `berthpull/tiny:${RUN}`);
    untag(image); // only the registry has it now
  });
  after(async () => {
    if (image && (await present(image))) untag(image);
    await registry?.close();
  });

  test('never: nothing pulled, the image stays missing', async () => {
    const { run } = await app('never', [image]);
    const r = await run();
    assert.deepEqual(r.skipped, ['berth-test/tiny:latest', image]);
    assert.equal(await present(image), false);
  });

  test('if-not-present: the missing image is pulled, the present one left alone; a second run pulls nothing', async () => {
    const { run } = await app('if-not-present', [image]);
    const r = await run();
    assert.deepEqual(r.present, ['berth-test/tiny:latest']);
    assert.deepEqual(r.pulled, [image]);
    assert.equal(await present(image), true);
    assert.deepEqual((await run()).pulled, []);
  });

  test('always: pulled again each run; an image the registry lacks is an error of the run, in its status', async () => {
    const missing = `${registry.address}/berthpull/none:${RUN}`;
    // Every image from the loopback registry: under 'always' a local-only name would be looked up on Docker Hub.
    const { run, row } = await app('always', [missing], image);
    const r = await run() as { pulled: string[]; errors: { image: string; error: string }[] };
    assert.deepEqual(r.pulled, [image], 'present, and pulled again');
    assert.deepEqual(r.errors.map((e) => e.image), [missing]);
    assert.match(r.errors[0]!.error, /could not be pulled/);
    const status = await row();
    assert.equal(status?.lastOutcome, 'error');
  });
});
