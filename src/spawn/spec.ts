// Builds the complete ServerSpec a backend starts: image, command, limits and guarantees, mounts,
// devices, labels, post_start_cmd, the full environment and a hash of everything that shapes the
// container (so a stale container can be told from a current one).
import { createHash } from 'node:crypto';
import type { DeviceRequest, ServerMount, ServerSpec } from '../backends/types.ts';
import { escapeDockerName } from '../backends/docker/names.ts';
import type { Config } from '../config/schema.ts';
import { serverEnv, type EnvInput } from './env.ts';
import type { SpawnOverrides } from './options.ts';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "2G", "512M", "1.5g", "100" or a number of bytes → bytes (JupyterHub's ByteSpecification: powers of 1024). */
export function parseByteSize(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return Math.floor(v);
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[bB]?$/.exec(v.trim());
  if (!m) throw new Error(`not a size: ${v}`);
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/** Per-spawn secrets never enter the hash: two spawns with the same settings must hash alike. */
const SECRET_ENV = new Set(['JUPYTERHUB_API_TOKEN', 'JPY_API_TOKEN']);

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** What of a spec shapes its server (all but the identity labels and the hash itself). */
type Shape = Omit<ServerSpec, 'configHash' | 'labels'> & { labels?: Record<string, string> | undefined };

/**
 * A hash of the settings that shape the server: image, command, port, limits and guarantees,
 * mounts, devices, extra host config, post_start_cmd, the admin's labels and the env without secrets.
 */
export function configHash(spec: Shape, secret: ReadonlySet<string> = SECRET_ENV): string {
  const env = Object.fromEntries(Object.entries(spec.env).filter(([k]) => !SECRET_ENV.has(k) && !secret.has(k)));
  const shape = {
    image: spec.image, cmd: spec.cmd, args: spec.args, port: spec.port, memLimit: spec.memLimit, cpuLimit: spec.cpuLimit, env,
    memGuarantee: spec.memGuarantee, cpuGuarantee: spec.cpuGuarantee, mounts: spec.mounts, deviceRequests: spec.deviceRequests, storageSize: spec.storageSize,
    extraHostConfig: spec.extraHostConfig, postStartCmd: spec.postStartCmd, labels: spec.labels, runAs: spec.runAs, workingDir: spec.workingDir,
  };
  return createHash('sha256').update(stableJson(shape)).digest('hex').slice(0, 16);
}

/**
 * A volume name or path from its template: `{username}` and `{servername}` become their injective
 * Docker escaping (only [a-z0-9_], so never '-', '.', '/' or '..').
 */
export function expandTemplate(template: string, user: string, server: string): string {
  return template.split('{username}').join(escapeDockerName(user)).split('{servername}').join(escapeDockerName(server));
}

/**
 * The home volume's name: docker.home_volume templated. A named server whose template lacks
 * `{servername}` gets `--<escaped server>` appended (escaped names hold no '-'), so each named server
 * has its own volume while the default server keeps `jupyter-<user>`, the name existing homes have.
 */
export function homeVolumeFor(template: string, user: string, server: string): string {
  const name = expandTemplate(template, user, server);
  return server && !template.includes('{servername}') ? `${name}--${escapeDockerName(server)}` : name;
}

type MountConfig = Config['docker']['volumes'][number];
const mountFrom = (v: MountConfig, user: string, server: string): ServerMount =>
  ({ type: v.type, source: expandTemplate(v.source, user, server), target: v.target, ...(v.read_only ? { readOnly: true } : {}) });

/** The home volume's driver and options, `{username}` / `{servername}` / `{size}` templated. */
function homeDriver(config: Config, user: string, server: string): Pick<ServerMount, 'driver' | 'driverOptions'> {
  const d = config.docker;
  const size = String(parseByteSize(d.home_size) ?? '');
  const entries = Object.entries(d.home_volume_driver_options);
  return {
    ...(d.home_volume_driver ? { driver: d.home_volume_driver } : {}),
    ...(entries.length ? { driverOptions: Object.fromEntries(entries.map(([k, v]) => [k, expandTemplate(v, user, server).split('{size}').join(size)])) } : {}),
  };
}

/** The mounts of a server: its home volume at docker.home_dir, then docker.volumes in order. */
export function serverMounts(config: Config, user: string, server: string): ServerMount[] {
  const d = config.docker;
  return [
    { type: 'volume', source: homeVolumeFor(d.home_volume, user, server), target: d.home_dir, home: true, ...homeDriver(config, user, server) },
    ...d.volumes.map((v) => mountFrom(v, user, server)),
  ];
}

function deviceRequests(config: Config): DeviceRequest[] | undefined {
  const list = config.docker.device_requests.map((d): DeviceRequest => ({
    ...(d.driver !== undefined ? { driver: d.driver } : {}),
    ...(d.count !== undefined ? { count: d.count === 'all' ? -1 : d.count } : {}),
    ...(d.device_ids ? { deviceIds: [...d.device_ids] } : {}),
    capabilities: d.capabilities.map((c) => [...c]),
    ...(d.options ? { options: { ...d.options } } : {}),
  }));
  return list.length ? list : undefined;
}

/** post_start_cmd: a string runs with /bin/sh -c, a list as is. */
function postStartCmd(cmd: string | string[] | undefined): string[] | undefined {
  if (cmd === undefined) return undefined;
  return typeof cmd === 'string' ? ['/bin/sh', '-c', cmd] : [...cmd];
}

/** What a spec is built from: the env's inputs, less what the spec works out itself (image, limits). */
export type SpecInput = Omit<EnvInput, 'image' | 'memLimit' | 'cpuLimit'> & { overrides?: SpawnOverrides | undefined };

/**
 * The complete spec of one server from the config in force and the user: everything a backend needs
 * to start it, so a backend never reads spawner.* or the docker.* settings that shape a server.
 */
export function buildServerSpec(input: SpecInput): ServerSpec {
  const { config, user, server } = input;
  const s = config.spawner;
  const o = input.overrides; // the user's profile / image choice (src/spawn/options.ts), already checked
  const image = o?.image ?? s.image;
  const memLimit = parseByteSize(o?.memLimit ?? s.mem_limit);
  const cpuLimit = o?.cpuLimit ?? s.cpu_limit;
  const memGuarantee = parseByteSize(o?.memGuarantee ?? s.mem_guarantee);
  const cpuGuarantee = o?.cpuGuarantee ?? s.cpu_guarantee;
  const env = serverEnv({ ...input, image, memLimit, cpuLimit });
  Object.assign(env, o?.environment);
  // JupyterHub's Spawner.get_env sets these too; spawner.environment (applied last) still wins.
  const guarantees: Record<string, string> = {
    ...(memGuarantee !== undefined ? { MEM_GUARANTEE: String(memGuarantee) } : {}),
    ...(cpuGuarantee !== undefined ? { CPU_GUARANTEE: String(cpuGuarantee) } : {}),
  };
  for (const [k, v] of Object.entries(guarantees)) if (!(k in s.environment) && !(k in (o?.environment ?? {}))) env[k] = v;
  const extraHostConfig = Object.keys(config.docker.extra_host_config).length ? structuredClone(config.docker.extra_host_config) : undefined;
  const extraLabels = { ...config.docker.extra_labels };
  const base = {
    user, serverName: server, image, cmd: s.cmd, args: [...s.args], env, port: s.port, memLimit, cpuLimit, memGuarantee, cpuGuarantee,
    mounts: [...serverMounts(config, user, server), ...(o?.volumes ?? []).map((v) => mountFrom(v, user, server))], deviceRequests: deviceRequests(config), extraHostConfig, postStartCmd: postStartCmd(s.post_start_cmd),
    storageSize: parseByteSize(config.docker.storage_size),
  };
  // provider tokens change at every refresh: a new token alone must not make the container "stale"
  const hash = configHash({ ...base, labels: extraLabels }, new Set(Object.keys(input.authEnv ?? {})));
  return { ...base, labels: { ...extraLabels, 'berth.user': user, 'berth.server': server, 'berth.config-hash': hash }, configHash: hash };
}
