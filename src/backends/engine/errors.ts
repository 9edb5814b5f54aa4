// What a Docker engine failure means, said once for every Docker-based backend: an engine that is
// not there or refuses us (a ServiceError naming the fix), and a failed spawn (a SpawnError whose
// message is fit for the user, with the server's last log lines when there were any).
import { ServiceError, SpawnError } from '../../errors.ts';
import { DockerError } from '../docker/port.ts';

/** The engine at `where` cannot be used: one sentence saying what to do. */
export function engineUnreachable(err: unknown, where: string): ServiceError {
  if (err instanceof ServiceError && !(err instanceof DockerError)) return err;
  const kind = err instanceof DockerError ? err.kind : 'Failed';
  const message =
    kind === 'Forbidden'
      ? `Permission denied on the Docker engine at ${where}: run Berth as root or add its user to the docker group`
      : kind === 'Unavailable' || kind === 'Timeout'
        ? `Docker is not reachable at ${where}: start the Docker engine (dockerd) or set DOCKER_HOST / docker.host in berth.yaml`
        : `Docker at ${where} answered with an error (${err instanceof Error ? err.message : String(err)}): check the engine's log`;
  return new ServiceError('Unavailable', message, { cause: err });
}

/** A failure during `what` (create / start, of a container or a service) as the spawn's failure. */
export function engineSpawnError(err: unknown, reason: 'create' | 'start', where: string, opts: { logTail?: string | undefined; object?: string } = {}): SpawnError {
  const tail = opts.logTail || undefined;
  const object = opts.object ?? 'container';
  if (err instanceof SpawnError) return tail && !err.logTail ? new SpawnError(err.reason, err.message, { logTail: tail, cause: err.cause }) : err;
  if (err instanceof DockerError) {
    if (err.kind === 'Aborted') return new SpawnError('cancelled', 'Spawn cancelled', { logTail: tail, cause: err });
    if (err.kind === 'Timeout') return new SpawnError('backend', `Docker did not answer in time (${err.op})`, { logTail: tail, cause: err });
    if (err.kind === 'Unavailable' || err.kind === 'Forbidden') {
      return new SpawnError('backend', engineUnreachable(err, where).message, { logTail: tail, cause: err });
    }
    return new SpawnError(reason, `Could not ${reason} the ${object}: ${err.detail}`, { logTail: tail, cause: err });
  }
  return new SpawnError('backend', `Unexpected error during ${reason}: ${String(err)}`, { logTail: tail, cause: err });
}
