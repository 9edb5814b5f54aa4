// A server spec for berth-test/tiny, as the spawn runner would build it reduced to what tiny reads:
// the integration tests of the Docker-based backends start servers with it.
import { serverPrefix } from '../../src/names.ts';
import type { Backend, ServerSpec } from '../../src/backends/types.ts';
import { backendContract } from '../contract/backend.contract.ts';

export const TINY = 'berth-test/tiny:latest';

export function tinySpec(user: string, opts: Partial<ServerSpec> = {}): ServerSpec {
  const prefix = serverPrefix('/', user, opts.serverName ?? '');
  return {
    user, serverName: '', image: TINY, args: [], port: 8888, labels: {}, configHash: 'h1',
    ...opts,
    env: { JUPYTERHUB_SERVICE_URL: `http://0.0.0.0:8888${prefix}`, JUPYTERHUB_SERVICE_PREFIX: prefix, JUPYTERHUB_USER: user, ...opts.env },
  };
}

/** The shared contract suite for a Docker-based backend, with tiny playing every part (TINY_FAIL, TINY_HANG). */
export function tinyContract(name: string, make: () => Backend, cleanup: () => Promise<void>, image = TINY): void {
  backendContract(name, async () => {
    const backend = make();
    await backend.init({ port: 8000 });
    return {
      backend,
      images: { ok: image, fail: image, hang: image },
      env: { fail: { TINY_FAIL: '1' }, hang: { TINY_HANG: '1' } },
      cleanup,
    };
  });
}
