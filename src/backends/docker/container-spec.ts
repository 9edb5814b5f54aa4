// What a server's container looks like to the engine, from its spec: labels, env, command, limits and
// guarantees, mounts, devices, extra host config, and networking. Pure functions, so the shape is
// unit-tested without an engine. The only config read here is what names and finds Berth's objects
// (name_prefix) and, for a hand-built bare spec, what buildServerSpec would have put in it.
import type Docker from 'dockerode';
import type { Config } from '../../config/schema.ts';
import type { DeviceRequest, ServerMount, ServerSpec } from '../types.ts';
import type { Networking } from './reach.ts';

export const LABELS = {
  managedBy: 'berth.managed-by',
  user: 'berth.user',
  server: 'berth.server',
  configHash: 'berth.config-hash',
  /**
   * The backend kind that made it (docker, system-user, swarm): backends sharing one engine list only
   * their own. A container from before the label is docker's.
   */
  backend: 'berth.backend',
  /** The port the server listens on inside the container, so list() can recompute its URL. */
  port: 'berth.port',
  /**
   * The name prefix of the Berth that made it: two Berths (or test runs) sharing one engine must
   * never adopt or reap each other's servers.
   */
  instance: 'berth.instance',
  /** A short-lived container that checks the hub is reachable (probeHubReach): never a server. */
  probe: 'berth.probe',
  /** On a probe: the instance id of the process that started it (src/instance.ts) and when (ms). */
  creator: 'berth.creator',
  created: 'berth.created',
} as const;

export const MANAGED_BY = 'berth';

/** Labels selecting everything this Berth manages. */
export function ownLabelFilter(config: Config): string[] {
  return [`${LABELS.managedBy}=${MANAGED_BY}`, `${LABELS.instance}=${config.docker.name_prefix}`];
}

/** Volume labels: owner and manager (extra_labels first, so they can never spoof ours). */
export function volumeLabels(config: Config, user: string): Record<string, string> {
  return { ...config.docker.extra_labels, [LABELS.managedBy]: MANAGED_BY, [LABELS.instance]: config.docker.name_prefix, [LABELS.user]: user };
}

/**
 * A hub-reach probe: found and cleaned up like Berth's servers, but never listed as one. Its creator
 * and creation time let removeStaleProbes tell one a killed process left from one still running; its
 * kind keeps each backend's removeStaleProbes to its own (a swarm probe's task container carries
 * these labels too, and must go with its service, not under docker's hand).
 */
export function probeLabels(config: Config, made: { creator?: string | undefined; at?: number } = {}, kind = 'docker'): Record<string, string> {
  return {
    ...config.docker.extra_labels, [LABELS.managedBy]: MANAGED_BY, [LABELS.instance]: config.docker.name_prefix, [LABELS.probe]: '1', [LABELS.backend]: kind,
    ...(made.creator ? { [LABELS.creator]: made.creator } : {}),
    ...(made.at !== undefined ? { [LABELS.created]: String(made.at) } : {}),
  };
}

/**
 * The network a container joins and how it names the hub: in host and internal mode host.docker.internal
 * is the explicit address Berth listens on (host-gateway only when none was found), so the two cannot differ.
 */
export function networkHostConfig(networking: Networking): Pick<Docker.HostConfig, 'NetworkMode' | 'ExtraHosts'> {
  if (networking.mode === 'network') return { NetworkMode: networking.network };
  return { NetworkMode: networking.network ?? 'bridge', ExtraHosts: [`host.docker.internal:${networking.hubAddress ?? 'host-gateway'}`] };
}

/** The container's labels: the spec's (extra_labels included by buildServerSpec), then Berth's own, which always win. */
export function containerLabels(config: Config, spec: ServerSpec, kind = 'docker'): Record<string, string> {
  return {
    ...spec.labels,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.instance]: config.docker.name_prefix,
    [LABELS.user]: spec.user,
    [LABELS.server]: spec.serverName,
    [LABELS.configHash]: spec.configHash,
    [LABELS.port]: String(spec.port),
    [LABELS.backend]: kind,
  };
}

/** Whether a listed container is this kind's: one without the label predates it and is docker's. */
export function isKind(labels: Record<string, string> | undefined, kind: string): boolean {
  return (labels?.[LABELS.backend] ?? 'docker') === kind;
}

/** The labels a home volume is created with: the spec's (less the hash, which is the container's), then Berth's own. */
export function homeVolumeLabels(config: Config, spec: ServerSpec): Record<string, string> {
  const { [LABELS.configHash]: _hash, ...labels } = spec.labels;
  return { ...labels, [LABELS.managedBy]: MANAGED_BY, [LABELS.instance]: config.docker.name_prefix, [LABELS.user]: spec.user, [LABELS.server]: spec.serverName };
}

function engineMount(m: ServerMount): Docker.MountSettings {
  return { Type: m.type, Source: m.source, Target: m.target, ...(m.readOnly ? { ReadOnly: true } : {}) };
}

/** Docker's DeviceRequests shape. */
export function engineDeviceRequest(d: DeviceRequest): Docker.DeviceRequest {
  return {
    Driver: d.driver ?? '',
    Count: d.count ?? 0,
    ...(d.deviceIds ? { DeviceIDs: d.deviceIds } : {}),
    Capabilities: d.capabilities,
    Options: d.options ?? {},
  };
}

/**
 * The command: an explicit cmd plus args; args alone are appended to the image's CMD (as
 * DockerSpawner does); neither leaves the image's CMD alone.
 */
export function containerCmd(spec: ServerSpec, imageCmd: string[] | null | undefined): string[] | undefined {
  if (spec.cmd) return [...spec.cmd, ...spec.args];
  if (spec.args.length) return [...(imageCmd ?? []), ...spec.args];
  return undefined;
}

export function containerCreateBody(args: {
  config: Config;
  spec: ServerSpec;
  name: string;
  networking: Networking;
  imageCmd?: string[] | null | undefined;
  /** The backend kind making it (its berth.backend label). */
  kind?: string;
}): Docker.ContainerCreateOptions {
  const { config, spec, name, networking } = args;
  const env = { JUPYTER_IMAGE_SPEC: spec.image, ...spec.env };
  const portKey = `${spec.port}/tcp`;
  const hostMode = networking.mode === 'host';
  const cmd = containerCmd(spec, args.imageCmd);
  const own: Docker.HostConfig = {
    Mounts: spec.mounts.map(engineMount),
    RestartPolicy: { Name: 'no' },
    ...networkHostConfig(networking),
    ...(spec.memLimit ? { Memory: spec.memLimit } : {}),
    ...(spec.memGuarantee ? { MemoryReservation: spec.memGuarantee } : {}),
    ...(spec.cpuLimit ? { NanoCpus: Math.round(spec.cpuLimit * 1e9) } : {}),
    // 1024 is Docker's weight of a container without shares; the kernel's minimum is 2.
    ...(spec.cpuGuarantee ? { CpuShares: Math.max(2, Math.round(spec.cpuGuarantee * 1024)) } : {}),
    ...(spec.deviceRequests?.length ? { DeviceRequests: spec.deviceRequests.map(engineDeviceRequest) } : {}),
    ...(spec.storageSize ? { StorageOpt: { size: String(spec.storageSize) } } : {}),
    // Internal mode publishes nothing: the engine sets up no ports on an internal network.
    ...(hostMode
      ? {
          // Only loopback: the proxy is the one way in from outside.
          PortBindings: { [portKey]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
        }
      : {}),
  };
  // The config refuses extra keys Berth sets (src/config/schema.ts); Berth's keys go last all the same.
  const hostConfig: Docker.HostConfig = { ...(spec.extraHostConfig as Docker.HostConfig | undefined), ...own };
  return {
    name,
    Image: spec.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(cmd ? { Cmd: cmd } : {}),
    ...(spec.runAs !== undefined ? { User: spec.runAs } : {}),
    ...(spec.workingDir !== undefined ? { WorkingDir: spec.workingDir } : {}),
    Labels: containerLabels(config, spec, args.kind),
    ExposedPorts: { [portKey]: {} },
    HostConfig: hostConfig,
  };
}

interface PortBinding { HostIp?: string; HostPort?: string }

/**
 * Where the proxy reaches the server: the published loopback port, the container name on the shared
 * network, or (internal network, Berth on the host) the container's address on that network's bridge.
 */
export function serverUrl(args: {
  name: string;
  port: number;
  networking: Networking | undefined;
  ports: Record<string, PortBinding[] | null | undefined> | undefined;
  networks?: Record<string, { IPAddress?: string } | undefined> | null | undefined;
}): string | undefined {
  const bindings = args.ports?.[`${args.port}/tcp`] ?? [];
  const published = bindings.find((b) => b.HostPort && (b.HostIp === '127.0.0.1' || b.HostIp === '0.0.0.0' || !b.HostIp));
  if (published) return `http://127.0.0.1:${published.HostPort}`;
  if (args.networking?.mode === 'network') return `http://${args.name}:${args.port}`;
  const ip = args.networking?.mode === 'internal' ? args.networks?.[args.networking.network]?.IPAddress : undefined;
  if (ip) return `http://${ip}:${args.port}`;
  return undefined;
}
