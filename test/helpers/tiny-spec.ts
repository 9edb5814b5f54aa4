// A server spec for berth-test/tiny, as the spawn runner would build it reduced to what tiny reads:
// the integration tests of the Docker-based backends start servers with it.
import { serverPrefix } from '../../src/names.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Backend, ServerSpec } from '../../src/backends/types.ts';
import { backendContract } from '../contract/backend.contract.ts';
import { homeMounts } from './home-mounts.ts';

export const TINY = 'berth-test/tiny:latest';

/**
 * With `config`, the spec carries what buildServerSpec takes from it — the home volume from
 * docker.home_volume / home_dir and docker.extra_labels — so a test's own labels find what it made.
 */
export function tinySpec(user: string, opts: Partial<ServerSpec> = {}, config?: Config): ServerSpec {
  const serverName = opts.serverName ?? '';
  const prefix = serverPrefix('/', user, serverName);
  return {
    user, serverName, image: TINY, args: [], port: 8888, configHash: 'h1',
    mounts: homeMounts(user, serverName, config),
    ...opts,
    labels: { ...config?.docker.extra_labels, ...opts.labels },
    env: { JUPYTERHUB_SERVICE_URL: `http://0.0.0.0:8888${prefix}`, JUPYTERHUB_SERVICE_PREFIX: prefix, JUPYTERHUB_USER: user, ...opts.env },
  };
}

/** The shared contract suite for a Docker-based backend, with tiny playing every part (TINY_FAIL, TINY_HANG). */
export function tinyContract(name: string, make: () => Backend, cleanup: () => Promise<void>, config: Config, image = TINY): void {
  backendContract(name, async () => {
    const backend = make();
    await backend.init({ port: 8000 });
    return {
      backend,
      images: { ok: image, fail: image, hang: image },
      env: { fail: { TINY_FAIL: '1' }, hang: { TINY_HANG: '1' } },
      specFor: async (spec) => ({ ...spec, mounts: homeMounts(spec.user, spec.serverName, config), labels: { ...config.docker.extra_labels, ...spec.labels } }),
      cleanup,
    };
  });
}
