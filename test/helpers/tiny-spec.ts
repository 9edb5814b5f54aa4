// A server spec for berth-test/tiny, as the spawn runner would build it reduced to what tiny reads:
// the integration tests of the Docker-based backends start servers with it.
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { serverPrefix } from '../../src/names.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Backend, ServerSpec } from '../../src/backends/types.ts';
import { backendContract } from '../contract/backend.contract.ts';
import { homeMounts } from './home-mounts.ts';

export const TINY = 'berth-test/tiny:latest';

const variants = new Map<string, Promise<string>>();

/**
 * A variant of tiny built FROM it with `lines` (a Dockerfile's), tagged berth-test/tiny-<name>:<tiny's id>
 * and kept, like tiny, for the next run (a new tiny gets a new tag). Returns the tag.
 */
export function tinyVariant(name: string, lines: string[]): Promise<string> {
  let made = variants.get(name);
  if (!made) {
    made = (async () => {
      const docker = new Docker({ socketPath: '/var/run/docker.sock' });
      const id = (await docker.getImage(TINY).inspect()).Id.replace(/^sha256:/, '').slice(0, 12);
      const tag = `berth-test/tiny-${name}:${id}`;
      if (!(await docker.getImage(tag).inspect().then(() => true, () => false))) {
        execFileSync('docker', ['build', '-q', '-t', tag, '-'], { input: [`FROM ${TINY}`, ...lines, ''].join('\n'), stdio: ['pipe', 'ignore', 'inherit'] });
      }
      return tag;
    })();
    variants.set(name, made);
  }
  return made;
}

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
