// The mounts buildServerSpec gives a server — its home volume, then docker.volumes — for the
// hand-built specs of backend tests (a backend mounts exactly what its spec lists).
import { configSchema, type Config } from '../../src/config/schema.ts';
import { serverMounts } from '../../src/spawn/spec.ts';
import type { ServerMount } from '../../src/backends/types.ts';

const defaults = configSchema.parse({});

export function homeMounts(user: string, serverName = '', config: Config = defaults): ServerMount[] {
  return serverMounts(config, user, serverName);
}
