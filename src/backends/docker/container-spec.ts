// What a server's container looks like to the engine: labels, env, command, limits, the home volume
// and networking. Pure functions, so the shape is unit-tested without an engine.
import type Docker from 'dockerode';
import type { Config } from '../../config/schema.ts';
import type { ServerSpec } from '../types.ts';
import type { Networking } from './reach.ts';

export const LABELS = {
  managedBy: 'berth.managed-by',
  user: 'berth.user',
  server: 'berth.server',
  configHash: 'berth.config-hash',
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
 * and creation time let removeStaleProbes tell one a killed process left from one still running.
 */
export function probeLabels(config: Config, made: { creator?: string | undefined; at?: number } = {}): Record<string, string> {
  return {
    ...config.docker.extra_labels, [LABELS.managedBy]: MANAGED_BY, [LABELS.instance]: config.docker.name_prefix, [LABELS.probe]: '1',
    ...(made.creator ? { [LABELS.creator]: made.creator } : {}),
    ...(made.at !== undefined ? { [LABELS.created]: String(made.at) } : {}),
  };
}

/**
 * The network a container joins and how it names the hub: in host mode host.docker.internal is the
 * explicit address Berth listens on (host-gateway only when none was found), so the two cannot differ.
 */
export function networkHostConfig(networking: Networking): Pick<Docker.HostConfig, 'NetworkMode' | 'ExtraHosts'> {
  if (networking.mode === 'network') return { NetworkMode: networking.network };
  return { NetworkMode: networking.network ?? 'bridge', ExtraHosts: [`host.docker.internal:${networking.hubAddress ?? 'host-gateway'}`] };
}

export function containerLabels(config: Config, spec: ServerSpec): Record<string, string> {
  return {
    ...config.docker.extra_labels,
    ...spec.labels,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.instance]: config.docker.name_prefix,
    [LABELS.user]: spec.user,
    [LABELS.server]: spec.serverName,
    [LABELS.configHash]: spec.configHash,
    [LABELS.port]: String(spec.port),
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
  volume: string;
  networking: Networking;
  imageCmd?: string[] | null | undefined;
}): Docker.ContainerCreateOptions {
  const { config, spec, name, volume, networking } = args;
  const env = { JUPYTER_IMAGE_SPEC: spec.image, ...spec.env };
  const portKey = `${spec.port}/tcp`;
  const hostMode = networking.mode === 'host';
  const cmd = containerCmd(spec, args.imageCmd);
  const hostConfig: Docker.HostConfig = {
    Mounts: [{ Type: 'volume', Source: volume, Target: config.docker.home_dir }],
    RestartPolicy: { Name: 'no' },
    ...networkHostConfig(networking),
    ...(spec.memLimit ? { Memory: spec.memLimit } : {}),
    ...(spec.cpuLimit ? { NanoCpus: Math.round(spec.cpuLimit * 1e9) } : {}),
    ...(hostMode
      ? {
          // Only loopback: the proxy is the one way in from outside.
          PortBindings: { [portKey]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
        }
      : {}),
  };
  return {
    name,
    Image: spec.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(cmd ? { Cmd: cmd } : {}),
    Labels: containerLabels(config, spec),
    ExposedPorts: { [portKey]: {} },
    HostConfig: hostConfig,
  };
}

interface PortBinding { HostIp?: string; HostPort?: string }

/** Where the proxy reaches the server: the published loopback port, or the container name on the shared network. */
export function serverUrl(args: { name: string; port: number; networking: Networking | undefined; ports: Record<string, PortBinding[] | null | undefined> | undefined }): string | undefined {
  const bindings = args.ports?.[`${args.port}/tcp`] ?? [];
  const published = bindings.find((b) => b.HostPort && (b.HostIp === '127.0.0.1' || b.HostIp === '0.0.0.0' || !b.HostIp));
  if (published) return `http://127.0.0.1:${published.HostPort}`;
  if (args.networking?.mode === 'network') return `http://${args.name}:${args.port}`;
  return undefined;
}
