// The swarm backend (SwarmSpawner, made stateless): one service per server on an attachable overlay
// network, found by label; Docker Swarm picks the node. Images, error mapping and labels are the
// docker backend's (src/backends/engine, docker/container-spec.ts); what differs is here.
import type { Config } from '../../config/schema.ts';
import type { SwarmConfig } from '../../config/backend-schema.ts';
import { ServiceError, SpawnError, throwIfCancelled } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { engineSpawnError, engineUnreachable } from '../engine/errors.ts';
import { ensureImage, pullByPolicy, type ReadyImage } from '../engine/images.ts';
import { isStaleProbe } from '../engine/probe.ts';
import { engineTime, lastLines, listHomeVolumes } from '../engine/volumes.ts';
import type { Backend, BackendRef, HubProbeResult, HubReach, ListedServer, ListedVolume, PollResult, ProgressFn, ServerSpec, StartResult } from '../types.ts';
import { LABELS, MANAGED_BY, isKind, ownLabelFilter } from '../docker/container-spec.ts';
import { dnsLabel } from '../docker/names.ts';
import { DockerPort } from '../docker/port.ts';
import { refId } from '../docker/index.ts';
import { findOwnContainer, hostReach } from '../docker/reach.ts';
import { localInterfaces } from '../docker/host-address.ts';
import { HUB_REACH_FIX } from '../hub-probe.ts';
import { SwarmPort, type TaskInfo } from './port.ts';
import { probeHubReach } from './probe.ts';
import { SWARM_KIND, type SwarmNetworking, serviceCreateBody, serviceUrl } from './service-spec.ts';
import { ENDED, WAIT_STEP_MS, latest, sleep, taskPoll } from './tasks.ts';

/** Log lines kept with a failed spawn. */
const LOG_TAIL = 50;
/** How long stop() waits for the task's container to go (so its home volume is free again). */
const STOP_WAIT_MS = 20_000;

export const NOT_A_MANAGER = 'run Berth on a manager node: docker swarm init / join as manager';

export class SwarmBackend implements Backend {
  readonly kind = SWARM_KIND;
  readonly bindIp = '0.0.0.0';
  readonly engine: DockerPort;
  readonly port: SwarmPort;
  private networking: SwarmNetworking | undefined;
  /** This node's swarm id: a task here is reached on 127.0.0.1. */
  private localNode: string | undefined;
  private readonly prepared = new WeakMap<ServerSpec, ReadyImage>();
  private readonly configOf: () => Config;
  /** name_prefix and the network name and find Berth's objects: they stay as at start (a restart changes them). */
  private readonly started: Config;

  constructor(config: Config | (() => Config), private readonly log: Logger) {
    this.configOf = typeof config === 'function' ? config : () => config;
    this.started = this.configOf();
    this.engine = new DockerPort({ host: this.started.docker.host, log });
    this.port = new SwarmPort(this.engine);
  }

  private get config(): Config {
    const live = this.configOf();
    if (live === this.started) return live;
    const { host, name_prefix } = this.started.docker;
    return { ...live, docker: { ...live.docker, host, name_prefix } };
  }

  /** The swarm settings in force; the network stays the one init() prepared. */
  private get swarm(): SwarmConfig {
    const live = this.config.backend;
    const base = live.kind === 'swarm' ? live : swarmOf(this.started);
    return { ...base, network: swarmOf(this.started).network };
  }

  async init(hub: { port: number; connectUrl?: string | undefined }): Promise<HubReach> {
    const prefix = this.config.docker.name_prefix;
    try {
      dnsLabel(prefix, 'x', '');
    } catch {
      throw new ServiceError('Invalid', `docker.name_prefix "${prefix}" cannot name swarm services: use a lower-case DNS label of at most 24 characters ([a-z0-9-])`);
    }
    let state;
    try {
      state = await this.port.swarmState();
    } catch (err) {
      throw engineUnreachable(err, this.engine.address);
    }
    if (state.state !== 'active' || !state.manager) {
      const what = state.state === 'active' ? 'a swarm worker, not a manager' : `not in a swarm (swarm: ${state.state})`;
      throw new ServiceError('Unavailable', `The Docker engine at ${this.engine.address} is ${what}: ${NOT_A_MANAGER}`);
    }
    this.localNode = state.nodeId;
    const network = this.swarm.network;
    try {
      const existing = await this.engine.inspectNetwork(network);
      if (existing && existing.Driver !== 'overlay') {
        throw new ServiceError('Unavailable', `Network ${network} exists but is a ${existing.Driver} network: set backend.network to an attachable overlay network, or remove it`);
      }
      if (!existing) {
        await this.port.createOverlay(network, { [LABELS.managedBy]: MANAGED_BY, [LABELS.instance]: prefix });
        this.log.info('swarm: created overlay network', { network });
      }
      const reach = await this.workOutReach(network, hub);
      this.log.info('swarm: manager reachable', { address: this.engine.address, mode: this.networking!.mode, hubUrl: reach.hubUrl, reach: reach.description });
      return reach;
    } catch (err) {
      throw engineUnreachable(err, this.engine.address);
    }
  }

  /**
   * In a container on the overlay: services by name, the hub by Berth's container name. On the host:
   * services through the port each publishes in host mode (127.0.0.1 on this node), and the hub at this machine's docker_gwbridge
   * address (a swarm service has no host-gateway), which holds only for tasks on this node: with
   * worker nodes, set hub.hub_connect_url.
   */
  private async workOutReach(network: string, hub: { port: number; connectUrl?: string | undefined }): Promise<HubReach> {
    const self = await findOwnContainer(this.engine);
    const attached = Object.keys(self?.NetworkSettings?.Networks ?? {});
    if (self && attached.includes(network)) {
      const name = self.Name.replace(/^\//, '');
      this.networking = { mode: 'network', network };
      const hubUrl = hub.connectUrl ?? `http://${name}:${hub.port}`;
      const ip = self.NetworkSettings?.Networks?.[network]?.IPAddress;
      const extraListen = !hub.connectUrl && ip ? [{ host: ip, port: hub.port }] : [];
      return { hubUrl, extraListen, description: `services reach the hub at ${hubUrl} on overlay network ${network}` };
    }
    if (self) this.log.warn('swarm: Berth runs in a container that is not attached to the servers\' overlay network; attach it (docker network connect)', { network });
    const gw = hostReach({
      network: await this.engine.inspectNetwork('docker_gwbridge'), networkName: 'docker_gwbridge', interfaces: localInterfaces(),
      hubIp: this.config.hub.ip, port: hub.port, connectUrl: hub.connectUrl,
    });
    this.networking = { mode: 'host', network, hubAddress: gw.hubAddress };
    if (!hub.connectUrl && !gw.hubAddress) {
      this.log.warn(`swarm: services will likely not reach the hub: no address of this machine on docker_gwbridge; ${HUB_REACH_FIX}`);
    }
    const nodes = hub.connectUrl ? '' : ' — on this node only: with worker nodes, set hub.hub_connect_url';
    return { hubUrl: gw.hubUrl, extraListen: gw.extraListen, description: `${gw.description}${nodes}` };
  }

  async prepare(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<void> {
    try {
      this.prepared.set(spec, await this.image(spec, progress, signal));
    } catch (err) {
      throw engineSpawnError(err, 'create', this.engine.address, { object: 'service' });
    }
  }

  async start(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<StartResult> {
    const networking = this.networking ?? (await this.lazyInit());
    const config = this.config;
    const name = dnsLabel(config.docker.name_prefix, spec.user, spec.serverName);
    let id: string;
    try {
      throwIfCancelled(signal);
      // The image is checked on the manager: with worker nodes it must be where they can pull it.
      const image = this.prepared.get(spec) ?? (await this.image(spec, progress, signal));
      throwIfCancelled(signal);
      // Each spawn has a fresh token: whatever holds the name (old config, crashed, an earlier Berth) goes.
      const old = await this.port.inspectService(name);
      if (old) {
        this.log.info('swarm: replacing previous service', { name, configChanged: old.Spec.Labels?.[LABELS.configHash] !== spec.configHash });
        await this.removeAndWait(old.ID);
      }
      throwIfCancelled(signal);
      progress(70, 'Creating service');
      id = await this.port.createService(serviceCreateBody({ config, swarm: this.swarm, spec, name, networking, imageCmd: image.cmd }));
    } catch (err) {
      throw engineSpawnError(err, 'create', this.engine.address, { object: 'service' });
    }
    // From here on a service exists: any failure removes it (the volume stays) and keeps its last words.
    try {
      progress(80, 'Waiting for the service\'s task to run');
      const task = await this.waitRunning(id, config.spawner.start_timeout * 1000, signal);
      const url = serviceUrl({ name, port: spec.port, networking, published: task.Status?.PortStatus?.Ports, nodeHost: await this.nodeHost(task) });
      if (!url) throw new SpawnError('start', `Service ${name} has no published port for ${spec.port}`);
      progress(90, 'Service running');
      this.log.info('swarm: service running', { name, id: id.slice(0, 12), url });
      return { ref: { id, name }, url };
    } catch (err) {
      const logTail = await this.port.serviceLogs(id, LOG_TAIL).catch(() => '');
      await this.removeAndWait(id).catch((e) => this.log.warn('swarm: could not remove failed service', { name, error: String(e) }));
      throw engineSpawnError(err, 'start', this.engine.address, { logTail, object: 'service' });
    }
  }

  /** Until the service's task runs; a task that ends first fails the spawn with the task's own error. */
  private async waitRunning(id: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskInfo> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      throwIfCancelled(signal);
      const task = latest(await this.port.listTasks([id]));
      const state = task?.Status?.State;
      if (state === 'running') return task!;
      if (state && ENDED.has(state)) {
        const code = task?.Status?.ContainerStatus?.ExitCode;
        const why = task?.Status?.Err || task?.Status?.Message || state;
        throw new SpawnError('exited', `Server exited during start-up (${why}${code !== undefined ? `, exit code ${code}` : ''})`);
      }
      if (Date.now() > end) {
        const why = task?.Status?.Err || task?.Status?.Message || 'no task yet';
        throw new SpawnError('timeout', `The service's task did not start within spawner.start_timeout (${state ?? 'no task'}: ${why})`);
      }
      await sleep(WAIT_STEP_MS, signal);
    }
  }

  async stop(ref: BackendRef): Promise<void> {
    const id = refId(ref);
    if (!id) return;
    await this.removeAndWait(id);
  }

  /**
   * Removes the service, then waits (bounded) until its containers on this node are gone, so the
   * home volume is free for the next start or a prune. Containers on other nodes go on their own.
   */
  private async removeAndWait(id: string): Promise<void> {
    const info = await this.port.inspectService(id);
    if (!info) return;
    await this.port.removeService(info.ID);
    const end = Date.now() + STOP_WAIT_MS;
    while (Date.now() < end) {
      const left = await this.engine.listContainers([`com.docker.swarm.service.id=${info.ID}`]);
      if (left.length === 0) return;
      await sleep(WAIT_STEP_MS);
    }
    this.log.warn('swarm: a removed service\'s container is still there', { id: info.ID });
  }

  async poll(ref: BackendRef): Promise<PollResult> {
    const id = refId(ref);
    const info = id ? await this.port.inspectService(id) : null;
    if (!info) return { status: 'missing' };
    const task = latest(await this.port.listTasks([info.ID]));
    return taskPoll(task);
  }

  async list(): Promise<ListedServer[]> {
    const services = (await this.port.listServices(ownLabelFilter(this.config))).filter((s) => !s.Spec.Labels?.[LABELS.probe] && isKind(s.Spec.Labels, SWARM_KIND));
    const tasks = await this.port.listTasks(services.map((s) => s.ID));
    return Promise.all(services.map(async (s) => {
      const labels = s.Spec.Labels ?? {};
      const task = latest(tasks.filter((t) => t.ServiceID === s.ID));
      const running = task?.Status?.State === 'running';
      const port = Number(labels[LABELS.port] ?? 8888);
      const url = running ? serviceUrl({ name: s.Spec.Name, port, networking: this.networking, published: task?.Status?.PortStatus?.Ports, nodeHost: await this.nodeHost(task) }) : undefined;
      return {
        user: labels[LABELS.user] ?? '',
        serverName: labels[LABELS.server] ?? '',
        ref: { id: s.ID, name: s.Spec.Name },
        running,
        url,
        configHash: labels[LABELS.configHash],
        createdAt: engineTime(s.CreatedAt),
      };
    }));
  }

  /** Where a task's published port is: loopback on this node, the node's advertised address elsewhere. */
  private async nodeHost(task: TaskInfo | undefined): Promise<string | undefined> {
    if (!task?.NodeID) return undefined;
    if (task.NodeID === this.localNode) return '127.0.0.1';
    return this.port.nodeAddress(task.NodeID);
  }

  /** Home volumes with Berth's labels on this node (each node holds its own copy unless volume_driver shares them). */
  async listVolumes(): Promise<ListedVolume[]> {
    return listHomeVolumes(this.engine, this.config);
  }

  async removeVolume(name: string): Promise<void> {
    await this.engine.removeVolume(name);
    this.log.info('swarm: removed volume', { name });
  }

  async logs(ref: BackendRef, tail: number): Promise<string> {
    const id = refId(ref);
    if (!id) return '';
    const text = await this.port.serviceLogs(id, tail);
    return lastLines(text, tail);
  }

  async pullImage(image: string, signal?: AbortSignal): Promise<'pulled' | 'present' | 'skipped'> {
    return pullByPolicy(this.engine, image, this.config.docker.pull_policy, signal);
  }

  /** A one-off service from spawner.image, networked like a server, fetches the hub API (see probe.ts). */
  async probeHubReach(hubUrl: string, opts: { signal?: AbortSignal | undefined; creator?: string | undefined } = {}): Promise<HubProbeResult> {
    const networking = this.networking ?? (await this.lazyInit());
    return probeHubReach({ port: this.port, config: this.config, networking, node: this.localNode, hubUrl, signal: opts.signal, creator: opts.creator });
  }

  /** Probe services a killed process left (probeHubReach removes its own in a finally that a kill -9 skips). */
  async removeStaleProbes(isGone: (creator: string) => boolean, now: number): Promise<number> {
    let removed = 0;
    for (const s of await this.port.listServices([...ownLabelFilter(this.config), `${LABELS.probe}=1`, `${LABELS.backend}=${SWARM_KIND}`])) {
      if (!isStaleProbe(s.Spec.Labels ?? {}, engineTime(s.CreatedAt), isGone, now)) continue;
      await this.port.removeService(s.ID);
      this.log.info('swarm: removed a hub-reach probe left behind', { name: s.Spec.Name, creator: s.Spec.Labels?.[LABELS.creator] });
      removed++;
    }
    return removed;
  }

  private image(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<ReadyImage> {
    const config = this.config;
    return ensureImage(this.engine, { image: spec.image, policy: config.docker.pull_policy, progress, signal, pullTimeoutMs: config.spawner.pull_timeout * 1000 });
  }

  private async lazyInit(): Promise<SwarmNetworking> {
    await this.init({ port: this.config.hub.port, connectUrl: this.config.hub.hub_connect_url });
    return this.networking!;
  }
}

function swarmOf(config: Config): SwarmConfig {
  // A Berth started with another kind still runs (and stops) the swarm rows it recorded: the defaults.
  return config.backend.kind === 'swarm' ? config.backend : { kind: 'swarm', network: 'berth-servers', constraints: [], preferences: [], generic_resources: {}, volume_driver_options: {} };
}
