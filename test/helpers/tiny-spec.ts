// A server spec for berth-test/tiny, as the spawn runner would build it reduced to what tiny reads:
// the integration tests of the Docker-based backends start servers with it.
import { serverPrefix } from '../../src/names.ts';
import type { ServerSpec } from '../../src/backends/types.ts';

export const TINY = 'berth-test/tiny:latest';

export function tinySpec(user: string, opts: Partial<ServerSpec> = {}): ServerSpec {
  const prefix = serverPrefix('/', user, opts.serverName ?? '');
  return {
    user, serverName: '', image: TINY, args: [], port: 8888, labels: {}, configHash: 'h1',
    ...opts,
    env: { JUPYTERHUB_SERVICE_URL: `http://0.0.0.0:8888${prefix}`, JUPYTERHUB_SERVICE_PREFIX: prefix, JUPYTERHUB_USER: user, ...opts.env },
  };
}
