// Who this process is, for the worker lease and for the spawns it owns: host, PID namespace, PID and
// a random part. The host and namespace let a process tell that a holder on the same machine is gone
// (a kill -9) without waiting for its lease to lapse; the random part tells a restarted container,
// which gets the same hostname and PID 1 again, from its previous life.
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
  } catch {
    return ''; // not Linux: never judged gone early, only by its lease lapsing
  }
}

export function newInstanceId(): string {
  return `${hostname()}:${pidNamespace()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * True only when `id` names a process of this host and PID namespace that no longer exists, or an
 * earlier life of this very PID. Anything else (another host, a live PID, no namespace) is false.
 */
export function instanceIsGone(id: string, self: string): boolean {
  const [host, ns, pidText] = id.split(':');
  const [myHost, myNs] = self.split(':');
  const pid = Number(pidText);
  if (!ns || host !== myHost || ns !== myNs || !Number.isInteger(pid) || pid <= 0) return false;
  if (id === self) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, another user's
  }
}
