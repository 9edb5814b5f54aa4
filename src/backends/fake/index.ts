// The fake backend family (JupyterHub's mocking.py): each "server" is a real HTTP listener on
// 127.0.0.1 inside this process, so ready checks, the proxy and the OAuth flow can be exercised
// without Docker. The image name picks the behaviour:
//   fake            starts at once, answers 200 JSON echoing the request under any path
//   fake:slow       takes FAKE_SLOW_MS (default 300 ms) to start
//   fake:fail       start() throws a SpawnError with a log tail
//   fake:never      starts, but never answers HTTP (a closed port), so the ready check times out
//   fake:exit       starts, then exits at once (poll says exited)
// A test may set `kernels` to make the servers answer GET .../api/kernels as Jupyter does.
// Like the docker backend, a start creates the user's home volume (`home-<user>`) once; stop keeps it.
// What only a container has — mounts, limits and guarantees, device requests, extra host config,
// post_start_cmd — the fake accepts and keeps in the spec it records (servers.get(id).spec), unused.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpawnError, throwIfCancelled } from '../../errors.ts';
import { hubApiUrl, probeFromHere } from '../hub-probe.ts';
import type { Backend, BackendRef, HubProbeResult, HubReach, ListedServer, ListedVolume, PollResult, ProgressFn, ServerSpec, StartResult } from '../types.ts';

interface FakeServer {
  id: string;
  spec: ServerSpec;
  http?: Server;
  url: string;
  status: 'running' | 'exited';
  log: string[];
  createdAt: number;
  finishedAt?: number;
}

export interface FakeBackendOptions {
  /** Where creation and exit times come from (a test clock drives prune's grace periods). */
  now?: () => number;
}

export class FakeBackend implements Backend {
  readonly kind = 'fake';
  readonly bindIp = '127.0.0.1';
  readonly servers = new Map<string, FakeServer>();
  /** Home volumes by name, as the docker backend keeps them: they outlive every server. */
  readonly volumes = new Map<string, ListedVolume>();
  /** Every call, in order, for tests that assert on what the core asked for. */
  readonly calls: { op: string; user?: string; serverName?: string }[] = [];
  /**
   * What a server's GET <prefix>api/kernels answers: Jupyter's kernel list, or a status to fail
   * with. Unset (or undefined returned): the echo, like any other path.
   */
  kernels?: (server: { user: string; serverName: string }, req: IncomingMessage) => unknown[] | number | undefined | Promise<unknown[] | number | undefined>;
  private seq = 0;
  private readonly now: () => number;

  constructor(opts: FakeBackendOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  async init(hub: { port: number; connectUrl?: string | undefined }): Promise<HubReach> {
    const hubUrl = hub.connectUrl ?? `http://127.0.0.1:${hub.port}`;
    return { hubUrl, extraListen: [], description: `servers reach the hub at ${hubUrl} (fake backend: servers run in this process)` };
  }

  /** The fake's servers run in this process, so an HTTP GET from here is what one of them would do. */
  probeHubReach(hubUrl: string, opts: { signal?: AbortSignal | undefined } = {}): Promise<HubProbeResult> {
    return probeFromHere(hubApiUrl(hubUrl), 5000, opts.signal);
  }

  async start(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<StartResult> {
    this.calls.push({ op: 'start', user: spec.user, serverName: spec.serverName });
    const mode = spec.image.split(':')[1] ?? '';
    throwIfCancelled(signal);
    // Like a container of the same name, an earlier instance of this server is replaced.
    for (const s of [...this.servers.values()]) {
      if (s.spec.user !== spec.user || s.spec.serverName !== spec.serverName) continue;
      this.servers.delete(s.id); // not via stop(): `calls` records only what the core asked for
      await closeServer(s.http);
    }
    progress(20, `Creating server for ${spec.user}`);
    throwIfCancelled(signal);
    if (mode === 'slow') await sleep(Number(spec.env.FAKE_SLOW_MS ?? process.env.FAKE_SLOW_MS ?? 300), signal);
    if (mode === 'fail') throw new SpawnError('exited', 'Server exited during start-up (exit code 3)', { logTail: 'fake: failing on purpose\n' });
    const id = `fake-${++this.seq}`;
    const entry: FakeServer = { id, spec, url: '', status: 'running', log: [`started ${spec.user}/${spec.serverName}`], createdAt: this.now() };
    const volume = fakeVolumeName(spec.user);
    if (!this.volumes.has(volume)) this.volumes.set(volume, { name: volume, user: spec.user, createdAt: this.now() });
    if (mode === 'never' || mode === 'exit') {
      entry.url = `http://127.0.0.1:${await closedPort()}`;
      if (mode === 'exit') { entry.status = 'exited'; entry.finishedAt = this.now(); }
    } else {
      entry.http = createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', async () => {
          const kernels = /\/api\/kernels(\?|$)/.test(req.url ?? '') ? await Promise.resolve(this.kernels?.({ user: spec.user, serverName: spec.serverName }, req)).catch(() => 500) : undefined;
          if (kernels !== undefined) {
            res.writeHead(typeof kernels === 'number' ? kernels : 200, { 'content-type': 'application/json' });
            return res.end(JSON.stringify(typeof kernels === 'number' ? { message: 'fake failure' } : kernels));
          }
          res.writeHead(200, { 'content-type': 'application/json', 'x-fake-server': `${spec.user}/${spec.serverName}` });
          res.end(JSON.stringify({ user: spec.user, server: spec.serverName, method: req.method, url: req.url, headers: req.headers, body }));
        });
      });
      await new Promise<void>((r) => entry.http!.listen(0, '127.0.0.1', r));
      // A fake server must never keep a test process alive (e.g. one started after the test's close()).
      entry.http.unref();
      entry.url = `http://127.0.0.1:${(entry.http.address() as AddressInfo).port}`;
    }
    this.servers.set(id, entry);
    progress(60, 'Server process started');
    return { ref: { id }, url: entry.url };
  }

  async stop(ref: BackendRef): Promise<void> {
    this.calls.push({ op: 'stop' });
    const s = this.servers.get(String(ref.id));
    if (!s) return;
    this.servers.delete(s.id);
    await closeServer(s.http);
  }

  async poll(ref: BackendRef): Promise<PollResult> {
    const s = this.servers.get(String(ref.id));
    if (!s) return { status: 'missing' };
    return s.status === 'running' ? { status: 'running' } : { status: 'exited', exitCode: 1 };
  }

  async list(): Promise<ListedServer[]> {
    return [...this.servers.values()].map((s) => ({
      user: s.spec.user, serverName: s.spec.serverName, ref: { id: s.id }, running: s.status === 'running', url: s.url, configHash: s.spec.configHash,
      createdAt: s.createdAt, finishedAt: s.finishedAt,
    }));
  }

  async listVolumes(): Promise<ListedVolume[]> {
    return [...this.volumes.values()].map((v) => ({ ...v }));
  }

  async removeVolume(name: string): Promise<void> {
    this.calls.push({ op: 'removeVolume', user: this.volumes.get(name)?.user });
    this.volumes.delete(name);
  }

  async logs(ref: BackendRef, tail: number): Promise<string> {
    return (this.servers.get(String(ref.id))?.log ?? []).slice(-tail).join('\n');
  }

  /** Images pulled so far (pre-pull): a name with ":unpullable" fails like a registry that refuses it. */
  readonly pulled = new Set<string>();

  async pullImage(image: string): Promise<'pulled' | 'present' | 'skipped'> {
    this.calls.push({ op: 'pull' });
    if (image.endsWith(':unpullable')) throw new SpawnError('image', `Image ${image} could not be pulled: fake registry refuses it`);
    if (this.pulled.has(image)) return 'present';
    this.pulled.add(image);
    return 'pulled';
  }

  /** Simulates a crash from outside: the process is gone but the ref remains. */
  async crash(ref: BackendRef): Promise<void> {
    const s = this.servers.get(String(ref.id));
    if (!s) return;
    s.status = 'exited';
    s.finishedAt = this.now();
    await closeServer(s.http);
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => closeServer(s.http)));
    this.servers.clear();
  }
}

/** The fake's home volume of a user (the docker backend's comes from docker.home_volume). */
export function fakeVolumeName(user: string): string {
  return `home-${user}`;
}

function closeServer(http: Server | undefined) {
  if (!http) return Promise.resolve();
  http.closeAllConnections?.();
  return new Promise<void>((r) => http.close(() => r()));
}

/** A port nothing listens on: bind, read the number, close. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}


function sleep(ms: number, signal?: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => { clearTimeout(t); reject(new SpawnError('cancelled', 'Spawn cancelled')); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    t.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
