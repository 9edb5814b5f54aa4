// A new home volume is made the server's user's before the server first mounts it. Docker copies
// the image's directory at the mount point into an empty volume, ownership included — but only when
// the image has that directory: an image whose home_dir is missing (or another home_dir than the
// image's) would get a root-owned home its non-root user cannot write. So once, when Berth creates
// the volume, a short container from the same image, as root and without network, chowns the
// volume's top directory to the user the server will run as (the name resolves in the image's own
// passwd). Not recursive: a new volume holds only what the image put there.
// The chown runs with -c (GNU and busybox): when it changes nothing, the image's own copy already
// gave the home to that user, and it will for every new volume of that image at that path (Docker's
// copy into an empty volume depends on nothing else), so later spawns of that image skip the
// container — about a third of a second of every first spawn of a user of the real single-user image.
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import type { ServerMount, ServerSpec } from '../types.ts';
import { probeLabels } from './container-spec.ts';
import type { DockerPort } from './port.ts';

const CHOWN_WAIT_MS = 30_000;

/**
 * Image id, mount point, owner, volume driver and options for which a new volume was seen to come
 * with the right owner already. This process's memory only: a restart checks once more. Bounded: a
 * site has a handful of images; past the bound it starts afresh (one more check each).
 */
const ownedByImage = new Set<string>();
const OWNED_MAX = 1000;

function ownershipKey(imageId: string, home: ServerMount, owner: string): string {
  return JSON.stringify([imageId, home.target, owner, home.driver ?? 'local', home.driverOptions ?? {}]);
}

/** Whether the home of a new volume from this image needs the chown container at all. */
export function homeNeedsChown(imageId: string | undefined, home: ServerMount, owner: string): boolean {
  return !imageId || !ownedByImage.has(ownershipKey(imageId, home, owner));
}

/** Who the server runs as, when that is not root: spec.runAs ("0" means the image's start script drops to NB_UID itself), else the image's USER. */
export function homeOwner(spec: Pick<ServerSpec, 'runAs'>, imageUser: string | undefined): string | undefined {
  const who = spec.runAs ?? imageUser;
  if (!who) return undefined;
  const user = who.split(':')[0];
  return user === '0' || user === 'root' ? undefined : who;
}

/** Chowns a just-created home volume to `owner`; a failure is logged, never fatal (the server may still run). */
export async function chownNewHome(args: {
  port: DockerPort; config: Config; log: Logger; image: string; imageId: string | undefined; home: ServerMount; owner: string; name: string; kind: string;
}): Promise<void> {
  const { home, owner } = args;
  if (!homeNeedsChown(args.imageId, home, owner)) return;
  const ran = await runChown(args, ['-c']);
  // a chown without -c (neither GNU nor busybox): as before, plain, and nothing learnt
  if (ran && ran.code !== 0) await runChown(args, []);
  else if (ran && ran.output.trim() === '' && args.imageId) {
    if (ownedByImage.size >= OWNED_MAX) ownedByImage.clear();
    ownedByImage.add(ownershipKey(args.imageId, home, owner));
  }
}

/** One chown container; its exit code and output, or undefined when it could not run (logged). */
async function runChown(args: Parameters<typeof chownNewHome>[0], flags: string[]): Promise<{ code: number; output: string } | undefined> {
  const { port, home, owner } = args;
  let id: string | undefined;
  try {
    id = await port.createContainer({
      // its own name each time: one a killed Berth left (cleaned as a stale probe) never blocks the next
      name: `${args.name}-home-init-${randomBytes(3).toString('hex')}`,
      Image: args.image,
      User: '0',
      Entrypoint: ['chown', ...flags, owner, home.target],
      Cmd: [],
      // A probe's labels: found and removed like one if a kill leaves it, never listed as a server.
      Labels: probeLabels(args.config, { at: Date.now() }, args.kind),
      HostConfig: { Mounts: [{ Type: 'volume', Source: home.source, Target: home.target }], NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
    });
    await port.startContainer(id);
    const code = await port.waitContainer(id, CHOWN_WAIT_MS);
    const output = await port.containerLogs(id, 5);
    if (code !== 0 && !flags.length) args.log.warn('docker: could not give the new home volume to the server\'s user', { volume: home.source, owner, exitCode: code, output: output.trim() });
    return { code, output };
  } catch (err) {
    args.log.warn('docker: could not give the new home volume to the server\'s user', { volume: home.source, owner, error: String(err) });
    return undefined;
  } finally {
    if (id) await port.removeContainer(id).catch(() => {});
  }
}
