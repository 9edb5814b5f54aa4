// The one narrow port over the Docker Engine API (dockerode): every call gets a timeout, a debug log
// line and errors classified by category (HTTP status or socket error code, never message text).
import './defer-unused.ts'; // first: before dockerode loads
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log.ts';
import { ServiceError } from '../../errors.ts';

export type DockerErrorKind = 'NotFound' | 'Conflict' | 'NotModified' | 'Unavailable' | 'Forbidden' | 'Timeout' | 'Aborted' | 'Failed';

/**
 * A classified Docker failure. `op` names the call; `statusCode` is the engine's HTTP status when there
 * was one. The backend handles the kinds it expects (404 on remove, 304 on stop…); one that escapes to
 * an API caller means the backend could not do the job, so it is a ServiceError 'Unavailable' (503).
 */
export class DockerError extends ServiceError {
  readonly kind: DockerErrorKind;
  readonly op: string;
  readonly statusCode: number | undefined;
  /** The engine's own words (its JSON `message`), without our op prefix: fit for a user-facing message. */
  readonly detail: string;
  constructor(kind: DockerErrorKind, op: string, message: string, opts: { statusCode?: number | undefined; detail?: string; cause?: unknown } = {}) {
    super('Unavailable', message, { cause: opts.cause });
    this.name = 'DockerError';
    this.kind = kind;
    this.op = op;
    this.statusCode = opts.statusCode;
    this.detail = opts.detail ?? message;
  }
}

/** Socket-level codes meaning "no engine there" (refused, no socket file, unreachable host). */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

export function classifyDockerError(err: unknown, op: string, state: { timedOut?: boolean; aborted?: boolean } = {}): DockerError {
  if (err instanceof DockerError) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown; json?: { message?: unknown } };
  const statusCode = typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  let kind: DockerErrorKind = 'Failed';
  if (state.timedOut) kind = 'Timeout';
  else if (state.aborted) kind = 'Aborted';
  else if (statusCode === 404) kind = 'NotFound';
  else if (statusCode === 409) kind = 'Conflict';
  else if (statusCode === 304) kind = 'NotModified';
  else if (code === 'EACCES' || code === 'EPERM') kind = 'Forbidden';
  else if (code && UNAVAILABLE_CODES.has(code)) kind = 'Unavailable';
  // For display only (classification above never reads text): docker-modem prefixes "(HTTP code N) reason - ".
  const detail = typeof e?.json?.message === 'string' ? e.json.message : message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  return new DockerError(kind, op, `${op}: ${message.trim()}`, { statusCode, detail, cause: err });
}

export interface DockerPortOptions {
  /** unix:///path, tcp://host:port, http(s)://host:port; unset = DOCKER_HOST or the local socket. */
  host?: string | undefined;
  log: Logger;
  /** Default per-call timeout (ms). */
  timeoutMs?: number;
}

/** Pull stream events as the engine sends them (one JSON object per line). */
export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

const MINUTE = 60_000;

export class DockerPort {
  readonly docker: Docker;
  /** Where the engine is, for messages ("/var/run/docker.sock", "tcp://10.0.0.5:2375"). */
  readonly address: string;
  private readonly log: Logger;
  private readonly timeoutMs: number;

  constructor(opts: DockerPortOptions) {
    this.log = opts.log;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const { options, address } = dockerOptions(opts.host);
    this.docker = new Docker(options);
    this.address = address;
  }

  /**
   * Runs one engine call with a timeout (and an optional caller signal), logging it at debug level
   * and classifying any failure. The race guards calls whose HTTP layer ignores the signal.
   */
  async call<T>(op: string, fn: (signal: AbortSignal) => Promise<T>, opts: { timeoutMs?: number; signal?: AbortSignal | undefined } = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const ctl = new AbortController();
    const state = { timedOut: false, aborted: false };
    const timer = setTimeout(() => { state.timedOut = true; ctl.abort(); }, timeoutMs);
    const onAbort = () => { state.aborted = true; ctl.abort(); };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const started = Date.now();
    try {
      const aborted = new Promise<never>((_, reject) => {
        if (ctl.signal.aborted) reject(new Error('aborted'));
        ctl.signal.addEventListener('abort', () => reject(new Error(state.timedOut ? `timed out after ${timeoutMs} ms` : 'aborted')), { once: true });
      });
      aborted.catch(() => {}); // only observed through the race below
      const result = await Promise.race([fn(ctl.signal), aborted]);
      this.log.debug('docker call', { op, ms: Date.now() - started });
      return result;
    } catch (err) {
      const classified = classifyDockerError(err, op, state);
      this.log.debug('docker call failed', { op, ms: Date.now() - started, kind: classified.kind, status: classified.statusCode, error: classified.message });
      throw classified;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Like call(), but a NotFound becomes null (inspect-style lookups). */
  private async orNull<T>(op: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T | null> {
    try {
      return await this.call(op, fn);
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'NotFound') return null;
      throw err;
    }
  }

  ping() {
    return this.call('ping', (abortSignal) => untyped<unknown>(this.docker, 'ping', abortSignal), { timeoutMs: 10_000 });
  }

  /** `docker info`, the parts Berth reads. */
  info() {
    return this.call('info', (abortSignal) => untyped<{ Driver?: string; DriverStatus?: [string, string][] | null; Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string } }>(this.docker, 'info', abortSignal), { timeoutMs: 10_000 });
  }

  inspectImage(name: string) {
    return this.orNull(`inspect image ${name}`, (abortSignal) => untyped<Docker.ImageInspectInfo>(this.docker.getImage(name), 'inspect', abortSignal));
  }

  /**
   * Pulls an image, calling onEvent per stream event. The stream may stay quiet for long while a
   * big layer extracts, so the limit is generous; the caller's signal cancels at once.
   */
  pullImage(image: string, onEvent: (ev: PullEvent) => void, signal?: AbortSignal, timeoutMs = 30 * MINUTE): Promise<void> {
    return this.call(`pull ${image}`, async (abortSignal) => {
      const stream = (await this.docker.pull(image, { abortSignal })) as Readable;
      abortSignal.addEventListener('abort', () => stream.destroy(), { once: true });
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()), onEvent);
      });
    }, { timeoutMs, signal });
  }

  inspectContainer(idOrName: string) {
    return this.orNull(`inspect container ${idOrName}`, (abortSignal) => this.docker.getContainer(idOrName).inspect({ abortSignal }));
  }

  async createContainer(body: Docker.ContainerCreateOptions): Promise<string> {
    // Create and start get a longer limit: under a burst of hundreds of spawns the engine queues them.
    const c = await this.call(`create container ${body.name ?? ''}`, (abortSignal) => this.docker.createContainer({ ...body, abortSignal }), { timeoutMs: 2 * MINUTE });
    return c.id;
  }

  startContainer(id: string) {
    return this.call(`start container ${id}`, (abortSignal) => this.docker.getContainer(id).start({ abortSignal }), { timeoutMs: 2 * MINUTE });
  }

  /** Stops with a grace period (SIGTERM, then SIGKILL after `seconds`). Already stopped (304) or gone (404) is success. */
  async stopContainer(id: string, seconds: number): Promise<void> {
    try {
      await this.call(`stop container ${id}`, (abortSignal) => this.docker.getContainer(id).stop({ t: seconds, abortSignal }), { timeoutMs: (seconds + 30) * 1000 });
    } catch (err) {
      if (err instanceof DockerError && (err.kind === 'NotModified' || err.kind === 'NotFound')) return;
      throw err;
    }
  }

  /**
   * Force-removes a container, never its named volumes (v: false). Gone (404) or a removal already
   * in progress (409) is success.
   */
  async removeContainer(id: string): Promise<void> {
    try {
      await this.call(`remove container ${id}`, (abortSignal) => this.docker.getContainer(id).remove({ force: true, v: false, abortSignal }), { timeoutMs: MINUTE });
    } catch (err) {
      if (err instanceof DockerError && (err.kind === 'NotFound' || err.kind === 'Conflict')) return;
      throw err;
    }
  }

  /** Waits until the container stops, at most `timeoutMs`; returns its exit code. */
  async waitContainer(id: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const r = await this.call(`wait container ${id}`, (abortSignal) => untyped<{ StatusCode: number }>(this.docker.getContainer(id), 'wait', abortSignal), { timeoutMs, signal });
    return r.StatusCode;
  }

  /** All containers (any state) carrying every one of the `key=value` labels. */
  listContainers(labels: string[]) {
    return this.call('list containers', (abortSignal) => this.docker.listContainers({ all: true, filters: { label: labels }, abortSignal }));
  }

  /** The last `tail` lines of stdout+stderr, demultiplexed ('' when the container is gone). */
  async containerLogs(id: string, tail: number): Promise<string> {
    const raw = await this.orNull(`logs ${id}`, (abortSignal) =>
      this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false, abortSignal }) as unknown as Promise<Buffer | string>,
    );
    if (raw == null) return '';
    const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    return demuxLogs(buf);
  }

  /** Runs `cmd` in the container, waits for it, returns its exit code and output (stdout and stderr). */
  exec(id: string, cmd: string[], opts: { timeoutMs?: number; signal?: AbortSignal | undefined } = {}): Promise<{ exitCode: number | null; output: string }> {
    return this.call(`exec in ${id}`, async (abortSignal) => {
      const exec = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, abortSignal } as never);
      const stream = await exec.start({ hijack: true, stdin: false });
      abortSignal.addEventListener('abort', () => stream.destroy(), { once: true });
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      const info = await exec.inspect();
      return { exitCode: info.ExitCode ?? null, output: demuxLogs(Buffer.concat(chunks)) };
    }, opts);
  }

  inspectVolume(name: string) {
    return this.orNull(`inspect volume ${name}`, (abortSignal) => this.docker.getVolume(name).inspect({ abortSignal }));
  }

  /** All volumes carrying every one of the `key=value` labels. */
  async listVolumes(labels: string[]) {
    const r = await this.call('list volumes', (abortSignal) => untyped<{ Volumes?: Docker.VolumeInspectInfo[] | null }>(this.docker, 'listVolumes', abortSignal, { filters: { label: labels } }));
    return r.Volumes ?? [];
  }

  /** Removes a volume; gone (404) is success. One in use (409) throws: the engine never removes it then. */
  async removeVolume(name: string): Promise<void> {
    try {
      await this.call(`remove volume ${name}`, (abortSignal) => untyped<unknown>(this.docker.getVolume(name), 'remove', abortSignal));
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'NotFound') return;
      throw err;
    }
  }

  /** Creates a volume; true when created, false when it already existed (409). */
  async createVolume(name: string, labels: Record<string, string>, opts: { driver?: string | undefined; options?: Record<string, string> | undefined } = {}): Promise<boolean> {
    const driver = { ...(opts.driver ? { Driver: opts.driver } : {}), ...(opts.options ? { DriverOpts: opts.options } : {}) };
    try {
      await this.call(`create volume ${name}`, (abortSignal) => this.docker.createVolume({ Name: name, Labels: labels, ...driver, abortSignal } as Docker.VolumeCreateOptions));
      return true;
    } catch (err) {
      // Created concurrently by another spawn of the same user: it exists, which is all we need.
      if (err instanceof DockerError && err.kind === 'Conflict') return false;
      throw err;
    }
  }

  /** Creates a bridge network (internal: no route beyond it); one that already exists (409) is success. */
  async createNetwork(name: string, labels: Record<string, string>, opts: { internal?: boolean } = {}): Promise<void> {
    try {
      await this.call(`create network ${name}`, (abortSignal) =>
        this.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Internal: opts.internal ?? false, Labels: labels, abortSignal } as Docker.NetworkCreateOptions));
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'Conflict') return;
      throw err;
    }
  }

  inspectNetwork(name: string) {
    return this.orNull(`inspect network ${name}`, (abortSignal) => untyped<NetworkInfo>(this.docker.getNetwork(name), 'inspect', abortSignal));
  }
}

/** dockerode honours `abortSignal` on these calls, but its type declarations do not declare it. */
export function untyped<T>(target: object, method: string, abortSignal: AbortSignal, opts: object = {}): Promise<T> {
  const fn = (target as Record<string, (opts: object) => Promise<T>>)[method]!;
  return fn.call(target, { ...opts, abortSignal });
}

export interface NetworkInfo {
  Name: string;
  Id: string;
  Driver?: string;
  /** The engine forwards nothing beyond the network: its containers reach each other and this machine, nothing else. */
  Internal?: boolean;
  /** An overlay network standalone containers may join. */
  Attachable?: boolean;
  Labels?: Record<string, string> | null;
  /** Driver options, e.g. com.docker.network.bridge.name (docker0 for the default bridge). */
  Options?: Record<string, string> | null;
  /** Config entries may lack a Gateway (Debian's engine on the default bridge): never rely on it alone. */
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null };
}

/**
 * Splits the engine's multiplexed log format: 8-byte frames [stream, 0, 0, 0, size(4, big endian)]
 * followed by the payload. A container started with a TTY has no frames: its raw bytes are returned.
 */
export function demuxLogs(buf: Buffer): string {
  const looksFramed = buf.length >= 8 && buf[0]! <= 2 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0;
  if (!looksFramed) return buf.toString('utf8');
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Engine address from `docker.host` / DOCKER_HOST, in dockerode's terms, plus a printable form. */
function dockerOptions(host: string | undefined): { options: Docker.DockerOptions | undefined; address: string } {
  // No setting: docker-modem reads DOCKER_HOST (with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH) itself.
  if (!host) return { options: undefined, address: process.env.DOCKER_HOST || '/var/run/docker.sock' };
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    return { options: { socketPath }, address: socketPath };
  }
  if (host.startsWith('/')) return { options: { socketPath: host }, address: host };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  const https = url.protocol === 'https:' || url.port === '2376';
  return {
    options: { host: url.hostname, port: url.port || (https ? 2376 : 2375), protocol: https ? 'https' : 'http' },
    address: host,
  };
}
