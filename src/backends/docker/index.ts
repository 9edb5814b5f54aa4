// The docker backend (DockerSpawner, made stateless): one container per server, found by label,
// with a home volume that outlives every container (design §6, §9).
import type { Config } from '../../config/schema.ts';
import { ServiceError, SpawnError, throwIfCancelled } from '../../errors.ts';
import { engineSpawnError, engineUnreachable } from '../engine/errors.ts';
import { ensureImage, pullByPolicy, type ReadyImage } from '../engine/images.ts';
import { engineTime, lastLines, listHomeVolumes } from '../engine/volumes.ts';
import type { Logger } from '../../log.ts';
import type { Backend, BackendRef, HubProbeResult, HubReach, ListedServer, ListedVolume, PollResult, ProgressFn, ServerMount, ServerSpec, StartResult } from '../types.ts';
import { LABELS, containerCreateBody, isKind, homeVolumeLabels, ownLabelFilter, serverUrl } from './container-spec.ts';
import { VOLUME_NAME, containerName, containerNameBeforeLimits } from './names.ts';
import { DockerError, DockerPort } from './port.ts';
import { chownNewHome, homeOwner } from './home-owner.ts';
import { isStaleProbe } from '../engine/probe.ts';
import { probeHubReach } from './probe.ts';
import { type Reach, workOutReach } from './reach.ts';
import { type StorageDriver, storageDriver, storageSizeProblem } from './storage.ts';

/** Grace period for `docker stop` before SIGKILL (JupyterHub's default stop wait is 10 s). */
const STOP_SECONDS = 10;
/** Log lines kept with a failed spawn. */
const LOG_TAIL = 50;
/** Characters of post_start_cmd output kept in the log. */
const POST_START_OUTPUT = 4000;
/** post_start_cmd may run this long (the spawn's start_timeout, which cancels it, is usually shorter). */
const POST_START_TIMEOUT_MS = 10 * 60_000;

export class DockerBackend implements Backend {
  /** docker, or system-user (src/backends/system-user), which runs its containers through this class. */
  readonly kind: 'docker' | 'system-user';
  readonly bindIp = '0.0.0.0';
  readonly port: DockerPort;
  private reach: Reach | undefined;
  /** The engine's storage driver, read once (docker.storage_size is checked against it). */
  private storage: Promise<StorageDriver> | undefined;
  /** What prepare() found per spec, so start() does not check or pull again (a spec object is one spawn's). */
  private readonly prepared = new WeakMap<ServerSpec, ReadyImage>();

  private readonly started: Config;
  private merged: { live: Config; config: Config } | undefined;

  /**
   * `configOf` is read at every use, so a reload (SIGHUP) reaches the next spawn: pull policy, home
   * volume and directory, labels… What names Berth's objects and how they reach the hub — the
   * engine address, name_prefix (the instance label every lookup filters by) and the network and its
   * internal flag — stay as they were at start: changing them needs a restart (serve.ts says so at reload).
   */
  private readonly configOf: () => Config;

  constructor(config: Config | (() => Config), private readonly log: Logger, opts: { kind?: 'docker' | 'system-user' } = {}) {
    this.kind = opts.kind ?? 'docker';
    this.configOf = typeof config === 'function' ? config : () => config;
    this.started = this.configOf();
    this.port = new DockerPort({ host: this.started.docker.host, log });
  }

  private get config(): Config {
    const live = this.configOf();
    if (live === this.started) return live;
    if (this.merged?.live !== live) {
      const { host, name_prefix, network, network_internal } = this.started.docker;
      this.merged = { live, config: { ...live, docker: { ...live.docker, host, name_prefix, network, network_internal } } };
    }
    return this.merged.config;
  }

  async init(hub: { port: number; connectUrl?: string | undefined }): Promise<HubReach> {
    let storageProblem: string | undefined;
    try {
      await this.port.ping();
      if (this.config.docker.storage_size !== undefined) storageProblem = await this.storageProblem();
      this.reach = await workOutReach(this.port, this.config, hub, this.log);
    } catch (err) {
      throw engineUnreachable(err, this.port.address);
    }
    if (storageProblem) throw new ServiceError('Invalid', storageProblem);
    const { hubUrl, extraListen, description, networking } = this.reach;
    this.log.info('docker: engine reachable', { address: this.port.address, mode: networking.mode, hubUrl, reach: description });
    return { hubUrl, extraListen, description };
  }

  async start(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<StartResult> {
    const networking = (this.reach ?? (await this.lazyInit())).networking;
    const config = this.config;
    const name = containerName(config.docker.name_prefix, spec.user, spec.serverName);
    const mounts = spec.mounts;
    const bad = mounts.find((m) => m.type === 'volume' && !VOLUME_NAME.test(m.source));
    if (bad) throw new SpawnError('create', `Volume name "${bad.source}" is not valid for Docker: check docker.${bad.home ? 'home_volume' : 'volumes'}`);
    // storage_size set by a reload after start-up: the same check init() makes, per spawn.
    const storageProblem = spec.storageSize ? await this.storageProblem().catch(() => undefined) : undefined;
    if (storageProblem) throw new SpawnError('create', storageProblem);
    const steps = async () => {
      throwIfCancelled(signal);
      const image = this.prepared.get(spec) ?? (await this.image(spec, progress, signal));
      const imageCmd = image.cmd;
      throwIfCancelled(signal);
      await this.removePrevious(name, spec, image.id);
      for (const m of mounts) {
        if (!m.home || m.type !== 'volume' || !(await this.ensureVolume(m, homeVolumeLabels(config, spec)))) continue;
        const owner = homeOwner(spec, image.user);
        if (owner) await chownNewHome({ port: this.port, config, log: this.log, image: spec.image, imageId: image.id, home: m, owner, name, kind: this.kind });
      }
      throwIfCancelled(signal);
      progress(70, 'Creating container');
      const body = containerCreateBody({ config, spec, name, networking, imageCmd, kind: this.kind });
      return this.port.createContainer(body);
    };
    let id: string;
    try {
      id = await steps();
    } catch (err) {
      throw engineSpawnError(err, 'create', this.port.address);
    }
    // From here on a container exists: any failure removes it (the volume stays) and keeps its last words.
    try {
      throwIfCancelled(signal);
      progress(80, 'Starting container');
      await this.port.startContainer(id);
      const info = await this.port.inspectContainer(id);
      if (!info?.State.Running) {
        throw new SpawnError('exited', `Server exited during start-up (exit code ${info?.State.ExitCode ?? 'unknown'})`);
      }
      const url = serverUrl({ name, port: spec.port, networking, ports: info.NetworkSettings.Ports as never, networks: info.NetworkSettings.Networks });
      if (!url) throw new SpawnError('start', `Container ${name} has no address for port ${spec.port}`);
      if (spec.postStartCmd) {
        progress(85, 'Running post_start_cmd');
        await this.postStart(id, name, spec.postStartCmd, signal);
      }
      progress(90, 'Container started');
      this.log.info('docker: container started', { name, id: id.slice(0, 12), url });
      return { ref: { id, name }, url };
    } catch (err) {
      const logTail = await this.port.containerLogs(id, LOG_TAIL).catch(() => '');
      await this.port.removeContainer(id).catch((e) => this.log.warn('docker: could not remove failed container', { name, error: String(e) }));
      throw engineSpawnError(err, 'start', this.port.address, { logTail });
    }
  }

  async stop(ref: BackendRef): Promise<void> {
    const id = refId(ref);
    if (!id) return;
    await this.port.stopContainer(id, STOP_SECONDS);
    await this.port.removeContainer(id);
  }

  async poll(ref: BackendRef): Promise<PollResult> {
    const id = refId(ref);
    const info = id ? await this.port.inspectContainer(id) : null;
    if (!info) return { status: 'missing' };
    if (info.State.Running) return { status: 'running' };
    // Created but never started: the half-started create of a spawn that did not finish.
    if (info.State.Status === 'created') return { status: 'missing' };
    return { status: 'exited', exitCode: info.State.ExitCode };
  }

  async list(): Promise<ListedServer[]> {
    const containers = (await this.port.listContainers(ownLabelFilter(this.config))).filter((c) => !c.Labels?.[LABELS.probe] && isKind(c.Labels, this.kind));
    // The list gives no stop time: ask for it for the few that are not running (prune's stopped_age).
    const finished = new Map<string, number>();
    for (const c of containers) {
      if (c.State === 'running') continue;
      const at = engineTime((await this.port.inspectContainer(c.Id))?.State.FinishedAt);
      if (at !== undefined) finished.set(c.Id, at);
    }
    return containers.map((c) => {
      const labels = c.Labels ?? {};
      const name = (c.Names?.[0] ?? '').replace(/^\//, '');
      const running = c.State === 'running';
      const port = Number(labels[LABELS.port] ?? 8888);
      const ports: Record<string, { HostIp?: string; HostPort?: string }[]> = {
        [`${port}/tcp`]: (c.Ports ?? []).filter((p) => p.PrivatePort === port && p.PublicPort).map((p) => ({ HostIp: p.IP, HostPort: String(p.PublicPort) })),
      };
      return {
        user: labels[LABELS.user] ?? '',
        serverName: labels[LABELS.server] ?? '',
        ref: { id: c.Id, name },
        running,
        url: running ? serverUrl({ name, port, networking: this.reach?.networking, ports, networks: c.NetworkSettings?.Networks }) : undefined,
        configHash: labels[LABELS.configHash],
        createdAt: c.Created * 1000,
        finishedAt: finished.get(c.Id),
      };
    });
  }

  /** Home volumes this Berth created (volumeLabels), found by label like its containers. */
  async listVolumes(): Promise<ListedVolume[]> {
    return listHomeVolumes(this.port, this.config);
  }

  /** Only ever called by an explicit admin choice (worker.prune.deleted_user_volumes: remove). */
  async removeVolume(name: string): Promise<void> {
    await this.port.removeVolume(name);
    this.log.info('docker: removed volume', { name });
  }

  async logs(ref: BackendRef, tail: number): Promise<string> {
    const id = refId(ref);
    if (!id) return '';
    const text = await this.port.containerLogs(id, tail);
    return lastLines(text, tail);
  }

  /** Pre-pull: the pull policy decides, as at a spawn ('always' refreshes the image each run). */
  async pullImage(image: string, signal?: AbortSignal): Promise<'pulled' | 'present' | 'skipped'> {
    return pullByPolicy(this.port, image, this.config.docker.pull_policy, signal);
  }

  /** The image check and pull, outside the start timeout; start() of this same spec then uses what it found. */
  async prepare(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<void> {
    try {
      this.prepared.set(spec, await this.image(spec, progress, signal));
    } catch (err) {
      throw engineSpawnError(err, 'create', this.port.address);
    }
  }

  private image(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<ReadyImage> {
    const config = this.config;
    return ensureImage(this.port, { image: spec.image, policy: config.docker.pull_policy, progress, signal, pullTimeoutMs: config.spawner.pull_timeout * 1000 });
  }

  /** A short-lived container from spawner.image, networked like a server, fetches the hub API (see probe.ts). */
  async probeHubReach(hubUrl: string, opts: { signal?: AbortSignal | undefined; creator?: string | undefined } = {}): Promise<HubProbeResult> {
    const { networking } = this.reach ?? (await this.lazyInit());
    return probeHubReach({ port: this.port, config: this.config, networking, hubUrl, signal: opts.signal, creator: opts.creator, kind: this.kind });
  }

  /**
   * Probe containers a killed process left (probeHubReach removes its own in a finally that a kill -9
   * skips) — this kind's only: a swarm probe's task container has the probe labels too, and the
   * swarm removes it with its service.
   */
  async removeStaleProbes(isGone: (creator: string) => boolean, now: number): Promise<number> {
    let removed = 0;
    for (const c of await this.port.listContainers([...ownLabelFilter(this.config), `${LABELS.probe}=1`])) {
      if (!isKind(c.Labels, this.kind) || !isStaleProbe(c.Labels ?? {}, c.Created * 1000, isGone, now)) continue;
      await this.port.removeContainer(c.Id);
      this.log.info('docker: removed a hub-reach probe left behind', { name: c.Names?.[0], creator: c.Labels?.[LABELS.creator], state: c.State });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    // dockerode keeps no pooled connections or timers of its own.
  }

  /** start() before init() (tests, tools): work out the reach with the configured hub port. */
  private storageProblem(): Promise<string | undefined> {
    this.storage ??= storageDriver(this.port);
    this.storage.catch(() => { this.storage = undefined; });
    return this.storage.then((d) => storageSizeProblem(d, this.port.address));
  }

  private async lazyInit(): Promise<Reach> {
    await this.init({ port: this.config.hub.port, connectUrl: this.config.hub.hub_connect_url });
    return this.reach!;
  }

  /**
   * Any container already holding the name is removed, running or not: each spawn gets a fresh
   * server token, so an old container (stale image, old config hash, crashed, or left running by an
   * earlier Berth) could never authenticate. Its home volume is untouched.
   */
  private async removePrevious(name: string, spec: ServerSpec, imageId: string | undefined) {
    // a server whose name is over the 63-character limit may have a container from before the limit
    const before = containerNameBeforeLimits(this.config.docker.name_prefix, spec.user, spec.serverName);
    if (before !== name) {
      const older = await this.port.inspectContainer(before);
      if (older) await this.port.removeContainer(older.Id);
    }
    const old = await this.port.inspectContainer(name);
    if (!old) return;
    const oldHash = old.Config.Labels?.[LABELS.configHash];
    this.log.info('docker: replacing previous container', {
      name, running: old.State.Running, configChanged: oldHash !== spec.configHash, imageChanged: imageId !== undefined && old.Image !== imageId, // ids: after a re-tag the name is the same
    });
    await this.port.removeContainer(old.Id);
  }

  /** Docker copies the image's files (and their owner, e.g. jovyan 1000) into a fresh named volume on first mount. */
  /** Creates the home volume when missing; true when it was missing (a spawn racing this one may have just made it). */
  private async ensureVolume(home: ServerMount, labels: Record<string, string>): Promise<boolean> {
    if (await this.port.inspectVolume(home.source)) return false; // an existing home keeps the driver and size it was made with
    return this.port.createVolume(home.source, labels, { driver: home.driver, options: home.driverOptions });
  }

  /**
   * DockerSpawner.post_start_cmd: `docker exec` once the container runs. Whatever it does — a non-zero
   * exit, an exec the engine refuses, no such program — is logged with its output and the spawn goes
   * on, as DockerSpawner's does; only a cancelled spawn stops here.
   */
  private async postStart(id: string, name: string, cmd: string[], signal?: AbortSignal): Promise<void> {
    try {
      const { exitCode, output } = await this.port.exec(id, cmd, { timeoutMs: POST_START_TIMEOUT_MS, signal });
      const fields = { name, cmd, exitCode, output: output.slice(-POST_START_OUTPUT) };
      if (exitCode === 0) this.log.info('docker: post_start_cmd ran', fields);
      else this.log.warn('docker: post_start_cmd failed; the server starts anyway', fields);
    } catch (err) {
      if (signal?.aborted) throw err;
      this.log.warn('docker: post_start_cmd could not run; the server starts anyway', { name, cmd, error: err instanceof DockerError ? err.detail : String(err) });
    }
  }
}

export function refId(ref: BackendRef): string | undefined {
  const id = ref.id ?? ref.name;
  return typeof id === 'string' && id ? id : undefined;
}

