// Builds the ServerSpec a backend starts: image, command, limits, labels, the full environment and a
// hash of everything that shapes the container (so a stale container can be told from a current one).
import { createHash } from 'node:crypto';
import type { ServerSpec } from '../backends/types.ts';
import { serverEnv, type EnvInput } from './env.ts';

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

export function configHash(spec: Omit<ServerSpec, 'configHash' | 'labels'>, secret: ReadonlySet<string> = SECRET_ENV): string {
  const env = Object.fromEntries(Object.entries(spec.env).filter(([k]) => !SECRET_ENV.has(k) && !secret.has(k)));
  const shape = { image: spec.image, cmd: spec.cmd, args: spec.args, port: spec.port, memLimit: spec.memLimit, cpuLimit: spec.cpuLimit, env };
  return createHash('sha256').update(stableJson(shape)).digest('hex').slice(0, 16);
}

/** What a spec is built from: the env's inputs, less what the spec works out itself (image, limits). */
export type SpecInput = Omit<EnvInput, 'image' | 'memLimit' | 'cpuLimit'>;

export function buildServerSpec(input: SpecInput): ServerSpec {
  const s = input.config.spawner;
  const image = s.image;
  const memLimit = parseByteSize(s.mem_limit);
  const cpuLimit = s.cpu_limit;
  const env = serverEnv({ ...input, image, memLimit, cpuLimit });
  const base = { user: input.user, serverName: input.server, image, cmd: s.cmd, args: [...s.args], env, port: s.port, memLimit, cpuLimit };
  // provider tokens change at every refresh: a new token alone must not make the container "stale"
  const hash = configHash(base, new Set(Object.keys(input.authEnv ?? {})));
  return { ...base, labels: { 'berth.user': input.user, 'berth.server': input.server, 'berth.config-hash': hash }, configHash: hash };
}
