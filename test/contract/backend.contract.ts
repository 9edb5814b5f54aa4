// THE backend conformance suite (hono's router suite style): every backend — docker, swarm,
// system-user and the fake — registers it with its own factory and must pass every case.
//
// Skipped cases, per backend, with the reason (a skipped case is not registered at all):
//   system-user: 'volumes' — homes are host directories bind-mounted, not volumes the backend creates,
//     so it has no listVolumes / removeVolume (prune never touches a host home).
// 'hub-probe' checks probeHubReach, optional in the interface: a backend without it lists the case in
// SKIPS with the reason, like any other case it does not run. So do 'list-created' (ListedServer
// createdAt) and 'volumes' (listVolumes / removeVolume): the prune job's capabilities.
import { after, before, describe, test } from 'node:test';
import { probeStatus } from '../helpers/http-probe.ts';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { SpawnError } from '../../src/errors.ts';
import { closedPort } from '../../src/backends/fake/index.ts';
import { serverPrefix } from '../../src/names.ts';
import type { Backend, BackendRef, ServerSpec } from '../../src/backends/types.ts';
import { homeMounts } from '../helpers/home-mounts.ts';

export type ImageKind = 'ok' | 'fail' | 'hang';

export interface ContractSetup {
  /** An initialised backend (init() already called). */
  backend: Backend;
  /** ok answers HTTP under its prefix; fail dies at start-up printing "failing on purpose"; hang runs but never answers. */
  images: Record<ImageKind, string>;
  /** Extra environment per kind, for backends where one image plays several parts (e.g. TINY_FAIL=1). */
  env?: Partial<Record<ImageKind, Record<string, string>>>;
  /**
   * Optional: completes each spec before start, for backends that need more than the contract's
   * (system-user: runAs and the host home of a host user the test made for that contract user).
   */
  specFor?(spec: ServerSpec): Promise<ServerSpec>;
  /** Removes everything the run created (called after the suite has stopped what it started). */
  cleanup(): Promise<void>;
}

export type CaseName = 'http' | 'poll' | 'stop-idempotent' | 'list' | 'list-created' | 'volumes' | 'replace' | 'fail' | 'hang' | 'logs' | 'progress' | 'abort-before' | 'abort-during' | 'hub-probe';

/** Cases a backend does not run, with the reason. Keep this list short and justified. */
const SKIPS: Record<string, Partial<Record<CaseName, string>>> = {
  'system-user': { volumes: 'homes are host directories bind-mounted, not volumes the backend creates: no listVolumes / removeVolume' },
};

const PORT = 8888;
const DEADLINE_MS = 20_000;

export function backendContract(name: string, make: () => Promise<ContractSetup>) {
  const skips = SKIPS[name] ?? {};
  const run = { id: randomBytes(3).toString('hex'), n: 0 };
  let setup: ContractSetup;
  const started: BackendRef[] = [];

  const user = (base = 'ct') => `${base}${run.id}-${++run.n}`;
  const spec = (kind: ImageKind, u: string, serverName = ''): ServerSpec => {
    const prefix = serverPrefix('/', u, serverName);
    return {
      user: u,
      serverName,
      image: setup.images[kind],
      args: [],
      port: PORT,
      env: {
        JUPYTERHUB_SERVICE_URL: `http://${setup.backend.bindIp}:${PORT}${prefix}`,
        JUPYTERHUB_SERVICE_PREFIX: prefix,
        JUPYTERHUB_USER: u,
        JUPYTERHUB_SERVER_NAME: serverName,
        ...setup.env?.[kind],
      },
      mounts: homeMounts(u, serverName),
      labels: {},
      configHash: 'contract-1',
    };
  };
  const start = async (s: ServerSpec, progress: (p: number, m: string) => void = () => {}, signal?: AbortSignal) => {
    const r = await setup.backend.start(setup.specFor ? await setup.specFor(s) : s, progress, signal);
    started.push(r.ref);
    return r;
  };
  const listFor = async (u: string) => (await setup.backend.list()).filter((l) => l.user === u);
  const it = (c: CaseName, title: string, fn: (t: { skip(why: string): void }) => Promise<void>) => {
    if (!skips[c]) test(title, { timeout: 90_000 }, fn);
  };

  describe(`backend contract: ${name}`, () => {
    before(async () => { setup = await make(); });
    after(async () => {
      for (const ref of started) await setup.backend.stop(ref).catch(() => {});
      await setup.cleanup();
    });

    it('http', 'start returns a url (no path) that answers HTTP under the server prefix', async () => {
      const u = user();
      const s = spec('ok', u);
      const { url } = await start(s);
      assert.match(url, /^https?:\/\/[^/]+$/);
      const prefix = s.env.JUPYTERHUB_SERVICE_PREFIX!;
      assert.equal(await waitHttp(url + prefix), 200);
      assert.equal(await waitHttp(`${url}${prefix}api`), 200);
    });

    it('poll', 'poll says running after start and missing after stop', async () => {
      const { ref } = await start(spec('ok', user()));
      assert.deepEqual(await setup.backend.poll(ref), { status: 'running' });
      await setup.backend.stop(ref);
      assert.deepEqual(await setup.backend.poll(ref), { status: 'missing' });
    });

    it('stop-idempotent', 'stop is idempotent: twice, and on refs that never started', async () => {
      const { ref } = await start(spec('ok', user()));
      await setup.backend.stop(ref);
      await setup.backend.stop(ref);
      for (const never of [{}, { id: 'berth-contract-never-started' }]) {
        await setup.backend.stop(never);
        assert.deepEqual(await setup.backend.poll(never), { status: 'missing' });
        assert.equal(await setup.backend.logs(never, 10), '');
      }
    });

    it('list', 'list shows a running server with its user and server name, and not after stop', async () => {
      const u = user('Ct.é@');
      const { ref, url } = await start(spec('ok', u, 'my-lab'));
      const listed = await listFor(u);
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!.serverName, 'my-lab');
      assert.equal(listed[0]!.running, true);
      assert.equal(listed[0]!.url, url);
      assert.equal(listed[0]!.configHash, 'contract-1');
      assert.deepEqual(await setup.backend.poll(listed[0]!.ref), { status: 'running' });
      await setup.backend.stop(ref);
      assert.deepEqual(await listFor(u), []);
    });

    it('list-created', 'list gives when each server was created (prune\'s grace periods), in ms since the epoch', async () => {
      const u = user();
      // The engine keeps whole seconds: allow one each side.
      const before = Date.now() - 1000;
      await start(spec('ok', u));
      const after = Date.now() + 1000;
      const [listed] = await listFor(u);
      assert.ok(listed?.createdAt !== undefined, `${name} lists no createdAt: list 'list-created' in SKIPS with the reason`);
      assert.ok(listed.createdAt >= before && listed.createdAt <= after, `createdAt ${listed.createdAt} not within the start (${before}..${after})`);
      assert.equal(listed.finishedAt, undefined, 'a running server has not finished');
    });

    it('volumes', 'listVolumes shows the home volume a start created, kept after stop; removeVolume removes it, idempotently', async () => {
      assert.ok(setup.backend.listVolumes && setup.backend.removeVolume, `${name} has no listVolumes/removeVolume: list 'volumes' in SKIPS with the reason`);
      const u = user();
      const { ref } = await start(spec('ok', u));
      await setup.backend.stop(ref);
      const mine = async () => (await setup.backend.listVolumes!()).filter((v) => v.user === u);
      const [home] = await mine();
      assert.ok(home, 'the home volume outlives the server');
      assert.ok(home.name.length > 0);
      await setup.backend.removeVolume(home.name);
      assert.deepEqual(await mine(), []);
      await setup.backend.removeVolume(home.name);
    });

    it('replace', 'a second start of the same server replaces the first', async () => {
      const u = user();
      const first = await start(spec('ok', u, 'lab'));
      const second = await start(spec('ok', u, 'lab'));
      assert.deepEqual(await setup.backend.poll(first.ref), { status: 'missing' });
      assert.deepEqual(await setup.backend.poll(second.ref), { status: 'running' });
      const listed = await listFor(u);
      assert.equal(listed.length, 1);
      assert.deepEqual(listed[0]!.ref, second.ref);
    });

    it('fail', 'a server that dies at start-up: SpawnError with its output, or start ok then poll exited', async () => {
      const u = user();
      let ref: BackendRef | undefined;
      try {
        ref = (await start(spec('fail', u))).ref;
      } catch (err) {
        assert.ok(err instanceof SpawnError, `expected a SpawnError, got ${String(err)}`);
        assert.match(err.logTail ?? '', /failing on purpose/);
        assert.ok(err.message.length > 0);
        assert.deepEqual(await listFor(u), [], 'a failed start leaves nothing behind');
        return;
      }
      const status = await until(async () => { const p = await setup.backend.poll(ref); return p.status === 'exited' ? p : undefined; });
      assert.equal(status.status, 'exited');
      assert.match(await setup.backend.logs(ref, 20), /failing on purpose/);
    });

    it('hang', 'a server that runs but never listens: poll running, HTTP never answers below 500', async () => {
      const u = user();
      const s = spec('hang', u);
      const { ref, url } = await start(s);
      assert.deepEqual(await setup.backend.poll(ref), { status: 'running' });
      const status = await probeStatus(url + s.env.JUPYTERHUB_SERVICE_PREFIX!);
      assert.ok(status === undefined || status >= 500, `expected no answer, got ${status}`);
    });

    it('logs', 'logs returns recent output, limited to the last N lines', async () => {
      const { ref } = await start(spec('ok', user()));
      const text = await until(async () => (await setup.backend.logs(ref, 100)) || undefined);
      assert.ok(text.trim().length > 0);
      const one = await setup.backend.logs(ref, 1);
      assert.ok(!one.trim().includes('\n'), `one line expected, got ${JSON.stringify(one)}`);
    });

    it('progress', 'progress reports non-decreasing percentages in 0-100 with messages', async () => {
      const seen: [number, string][] = [];
      await start(spec('ok', user()), (p, m) => seen.push([p, m]));
      assert.ok(seen.length >= 2, `expected progress reports, got ${JSON.stringify(seen)}`);
      for (const [i, [p, m]] of seen.entries()) {
        assert.ok(p >= 0 && p <= 100, `percentage ${p} out of range`);
        assert.ok(m.length > 0);
        if (i > 0) assert.ok(p >= seen[i - 1]![0], `progress went back: ${JSON.stringify(seen)}`);
      }
      assert.ok(seen.at(-1)![0] > seen[0]![0]);
    });

    it('abort-before', 'start with an already aborted signal: SpawnError cancelled, nothing left', async () => {
      const u = user();
      const ctl = new AbortController();
      ctl.abort();
      await assert.rejects(start(spec('ok', u), () => {}, ctl.signal), (e: unknown) => e instanceof SpawnError && e.reason === 'cancelled');
      assert.deepEqual(await listFor(u), []);
    });

    it('abort-during', 'a signal aborted during start (at the first progress report): cancelled, nothing left', async () => {
      const u = user();
      const ctl = new AbortController();
      await assert.rejects(start(spec('ok', u), () => ctl.abort(), ctl.signal), (e: unknown) => e instanceof SpawnError && e.reason === 'cancelled');
      assert.deepEqual(await listFor(u), []);
    });

    it('hub-probe', 'probeHubReach (optional): ok with the hub listening where init() says, not ok once nothing listens', async () => {
      assert.ok(setup.backend.probeHubReach, `${name} has no probeHubReach: list 'hub-probe' in SKIPS with the reason`);
      const probe = setup.backend.probeHubReach.bind(setup.backend);
      // Listen as `berth serve` does: on loopback and on every extra address init() asks for.
      const port = await closedPort();
      const reach = await setup.backend.init({ port });
      const hosts = ['127.0.0.1', ...reach.extraListen.map((l) => l.host)];
      const hubs: Server[] = [];
      for (const host of hosts) {
        const hub = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"version": "5.3.0"}'));
        await new Promise<void>((r) => hub.listen(port, host, r));
        hubs.push(hub);
      }
      const api = `${reach.hubUrl}/hub/api`;
      try {
        const up = await probe(reach.hubUrl);
        assert.equal(up.ok, true, up.message);
        assert.match(up.message, new RegExp(`reached the hub API at ${escape(api)}$`));
      } finally {
        for (const hub of hubs) await new Promise<void>((r) => hub.close(() => r()));
      }
      const down = await probe(reach.hubUrl);
      assert.equal(down.ok, false, down.message);
      assert.match(down.message, new RegExp(`could not reach the hub API at ${escape(api)}: .+; set hub\\.hub_connect_url to an address containers can reach$`));
    });
  });
}

/** GETs until the answer is below 500 (spec A.5: redirects not followed); returns its status. */
async function waitHttp(url: string): Promise<number> {
  return until(async () => {
    const s = await probeStatus(url);
    return s !== undefined && s < 500 ? s : undefined;
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Retries `fn` until it returns a value; fails the test at the deadline. */
async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
