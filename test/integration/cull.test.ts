// The idle-cull job against the real engine and an unmodified jupyterhub-singleuser 3.0: a real
// `berth serve` process, two users, cull.users on. Ivy leaves her server idle: it is culled, then
// she is, and her home volume stays. Bea runs `time.sleep(120)` in a kernel and closes the tab: while busy_kernels is on, cull
// runs ask her server's /api/kernels (with a token the server checks at the hub) and spare it; with
// busy_kernels off (a config reload), the same server is culled. The cull timeout starts long and is
// shortened by a reload once both servers are set up, so no start-up delay can race the culler.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { Browser } from '../helpers/browser.ts';
import { openKernel, openServer, startAndWait, type KernelSession } from '../helpers/jupyter.ts';
import { e2eConfig, freePort, removeTestObjects, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { until } from '../helpers/until.ts';

const IMAGE = 'berth-test/singleuser:3.0.0';
const FAMILY = 'berthcull';
const tag = `${FAMILY}${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-cull-'));
const adminToken = randomBytes(16).toString('hex');
const password = 'cull shared password';
const docker = new Docker();
let port: number;
let berth: BerthProcess;
let configFile: string;

interface CullRun { started: string; result: { servers: string[]; busy_servers: string[] } }

const api = (path: string) => fetch(`${berth.origin}/hub/api${path}`, { headers: { authorization: `token ${adminToken}` } });
const gone = async (name: string) => (await api(`/users/${name}`)).status === 404;
const servers = async (name: string) => ((await (await api(`/users/${name}`)).json()) as { servers: Record<string, { ready: boolean }> }).servers;
const lastCull = async () => ((await (await api('/worker')).json()) as { jobs: { name: string; last_run: CullRun | null }[] }).jobs.find((j) => j.name === 'cull')?.last_run ?? null;

/** Rewrites berth.yaml with these cull settings and reloads it (SIGHUP), as an operator would. */
async function configure(cull: { timeout: number; busy_kernels: boolean }) {
  const yaml = e2eConfig({ dir, tag, port, image: IMAGE, adminToken, password })
    + ['worker:', '  cull:', '    enabled: true', '    every: 1', '    users: true', `    timeout: ${cull.timeout}`, `    busy_kernels: ${cull.busy_kernels}`, ''].join('\n');
  writeFileSync(configFile, yaml);
  if (!berth) return;
  const before = berth.output().split('configuration reloaded').length;
  berth.child.kill('SIGHUP');
  await until('the reload', () => berth.output().split('configuration reloaded').length > before, 5000);
}

/** Waits until bea's server reports its one kernel in `state` (GET /api/kernels, as Berth asks it). */
async function kernelState(b: Browser, state: string, timeoutMs = 30_000): Promise<void> {
  await until(`the server to report its kernel ${state}`, async () => {
    const kernels = (await (await b.raw('/user/bea/api/kernels')).json()) as { execution_state: string }[];
    return kernels.length === 1 && kernels[0]!.execution_state === state;
  }, timeoutMs, 100);
}

/**
 * Until the server reports the kernel idle. Its first status can be sent before the server's
 * subscription is live and is then never seen (the state stays "starting"): a trivial cell makes the
 * kernel send busy and idle again, which a live subscription sees. Tried a few times, 5 s each.
 */
async function kernelSettled(b: Browser, kernel: KernelSession): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await kernelState(b, 'idle', 5_000);
    } catch (err) {
      if (attempt === 6) throw err;
      await kernel.execute('0');
    }
  }
}

/** Cull runs that finish from now on, until `enough` says stop. */
async function watchRuns(enough: (runs: CullRun[]) => boolean, timeoutMs: number): Promise<CullRun[]> {
  const first = (await lastCull())?.started;
  const runs: CullRun[] = [];
  await until('cull runs', async () => {
    const r = await lastCull();
    if (r && r.started !== first && r.started !== runs.at(-1)?.started) runs.push(r);
    return enough(runs);
  }, timeoutMs, 200).catch((err: Error) => {
    const said = berth.output().split('\n').filter((l) => /cull|kernel/i.test(l)).slice(-15).join('\n');
    throw new Error(`${err.message}\nruns seen: ${JSON.stringify(runs.map((r) => r.result))}\nBerth said:\n${said}`);
  });
  return runs;
}

describe('idle culling of real Jupyter servers', { timeout: 5 * 60_000 }, () => {
  let kernel: KernelSession;

  before(async () => {
    await removeTestObjects(FAMILY); // what a killed earlier run left
    port = await freePort();
    configFile = join(dir, 'berth.yaml');
    await configure({ timeout: 3600, busy_kernels: true });
    berth = await startBerth({ configFile, port, env: { E2E_PASSWORD: password, E2E_ADMIN_TOKEN: adminToken }, logFile: join(dir, 'berth.log') });
  });

  after(async () => {
    await kernel?.detach().catch(() => {});
    await berth?.kill('SIGTERM');
    await removeTestObjects(tag);
    rmSync(dir, { recursive: true, force: true });
  });

  test('an idle server is culled and its home volume kept; a busy kernel spares its server', async () => {
    const ivy = new Browser(berth.origin);
    const bea = new Browser(berth.origin);
    for (const [b, name] of [[ivy, 'ivy'], [bea, 'bea']] as const) {
      assert.equal((await b.login(name, password)).status, 302);
      await startAndWait(b, name);
    }
    assert.equal((await openServer(bea, 'bea')).res.status, 200);
    kernel = await openKernel(bea, 'bea');
    // The server learns a kernel's state from the kernel's status messages on a channel it subscribes
    // to at kernel start; one sent before that subscription is live is never seen (ZeroMQ's slow
    // joiner), so the work starts once the server has reported a state of its own, and the premise —
    // the server itself says "busy" — is checked before Berth is.
    await kernelSettled(bea, kernel);
    await kernel.begin('import time; time.sleep(120)');
    await kernelState(bea, 'busy');
    await kernel.detach(); // the tab is closed: no traffic from here on, the kernel keeps working

    await configure({ timeout: 6, busy_kernels: true });
    await until('ivy (her server, then her) to be culled', () => gone('ivy'), 30_000, 250);
    const volume = await docker.getVolume(`${tag}-ivy`).inspect();
    assert.equal(volume.Name, `${tag}-ivy`, 'the home volume is kept');

    // Three runs that found bea idle by activity, asked her kernels, and spared her.
    const runs = await watchRuns((r) => r.filter((x) => x.result.busy_servers.includes('bea')).length >= 3, 60_000);
    assert.ok(runs.every((r) => !r.result.servers.includes('bea')), JSON.stringify(runs));
    assert.equal((await servers('bea'))['']?.ready, true);
  });

  test('with busy_kernels off the same busy server is culled (and its user)', async () => {
    await configure({ timeout: 6, busy_kernels: false });
    await until('bea (her server, then her) to be culled', () => gone('bea'), 30_000, 250);
    assert.ok((await docker.listVolumes({ filters: { name: [`${tag}-bea`] } })).Volumes?.some((v) => v.Name === `${tag}-bea`), 'the home volume is kept');
  });
});
