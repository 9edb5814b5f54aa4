// A new home volume is made the server's user's before the server first mounts it. Docker copies
// the image's directory at the mount point into an empty volume, ownership included — but only when
// the image has that directory: an image whose home_dir is missing (or another home_dir than the
// image's) would get a root-owned home its non-root user cannot write. So once, when Berth creates
// the volume, a short container from the same image, as root and without network, chowns the
// volume's top directory to the user the server will run as (the name resolves in the image's own
// passwd). Not recursive: a new volume holds only what the image put there.
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import type { ServerMount, ServerSpec } from '../types.ts';
import { probeLabels } from './container-spec.ts';
import type { DockerPort } from './port.ts';

const CHOWN_WAIT_MS = 30_000;

/** Who the server runs as, when that is not root: spec.runAs ("0" means the image's start script drops to NB_UID itself), else the image's USER. */
export function homeOwner(spec: Pick<ServerSpec, 'runAs'>, imageUser: string | undefined): string | undefined {
  const who = spec.runAs ?? imageUser;
  if (!who) return undefined;
  const user = who.split(':')[0];
  return user === '0' || user === 'root' ? undefined : who;
}

/** Chowns a just-created home volume to `owner`; a failure is logged, never fatal (the server may still run). */
export async function chownNewHome(args: {
  port: DockerPort; config: Config; log: Logger; image: string; home: ServerMount; owner: string; name: string; kind: string;
}): Promise<void> {
  const { port, home, owner } = args;
  let id: string | undefined;
  try {
    id = await port.createContainer({
      // its own name each time: one a killed Berth left (cleaned as a stale probe) never blocks the next
      name: `${args.name}-home-init-${randomBytes(3).toString('hex')}`,
      Image: args.image,
      User: '0',
      Entrypoint: ['chown', owner, home.target],
      Cmd: [],
      // A probe's labels: found and removed like one if a kill leaves it, never listed as a server.
      Labels: probeLabels(args.config, { at: Date.now() }, args.kind),
      HostConfig: { Mounts: [{ Type: 'volume', Source: home.source, Target: home.target }], NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
    });
    await port.startContainer(id);
    const code = await port.waitContainer(id, CHOWN_WAIT_MS);
    if (code !== 0) args.log.warn('docker: could not give the new home volume to the server\'s user', { volume: home.source, owner, exitCode: code, output: (await port.containerLogs(id, 5)).trim() });
  } catch (err) {
    args.log.warn('docker: could not give the new home volume to the server\'s user', { volume: home.source, owner, error: String(err) });
  } finally {
    if (id) await port.removeContainer(id).catch(() => {});
  }
}
