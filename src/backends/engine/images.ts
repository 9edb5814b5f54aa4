// Images for every Docker-based backend (docker, swarm, system-user): the pull policy, a pull with
// its progress as one rising percentage, and what a failed pull means to the user. One module, so the
// backends cannot drift apart in what `never` or a missing tag does.
import type { PullPolicy } from '../../config/schema.ts';
import { SpawnError } from '../../errors.ts';
import type { ProgressFn } from '../types.ts';
import { DockerError, type DockerPort } from '../docker/port.ts';
import { PullProgress } from './pull-progress.ts';

/** The image as a server needs it: its CMD (args are appended to it) and its id (what a re-tag changes). */
export interface ReadyImage {
  cmd: string[] | undefined;
  id: string | undefined;
  /** The image's USER ('' or undefined: root). */
  user: string | undefined;
}

/**
 * Makes `image` present by the pull policy, with progress 5–60; refuses with the reason a user can
 * act on. A pull is bounded by `pullTimeoutMs` on its own (spawner.pull_timeout): the start timeout
 * never includes it, so a large image's first pull cannot fail a spawn that would have started.
 */
export async function ensureImage(port: DockerPort, args: {
  image: string; policy: PullPolicy; progress: ProgressFn; signal?: AbortSignal | undefined; pullTimeoutMs?: number | undefined;
}): Promise<ReadyImage> {
  const { image, policy, progress } = args;
  progress(5, `Checking image ${image}`);
  let info = await port.inspectImage(image);
  if (policy === 'always' || (!info && policy === 'if-not-present')) {
    await pullImage(port, image, progress, args.signal, args.pullTimeoutMs);
    info = await port.inspectImage(image);
  }
  if (!info) {
    throw new SpawnError('image', `Image ${image} is not on this machine and docker.pull_policy is never: pull or build it there (docker pull ${image}), or set pull_policy to if-not-present`);
  }
  return { cmd: info.Config?.Cmd ?? undefined, id: info.Id, user: info.Config?.User || undefined };
}

/** Pre-pull: what the policy asks of an image nobody is waiting for ('always' refreshes it each run). */
export async function pullByPolicy(port: DockerPort, image: string, policy: PullPolicy, signal?: AbortSignal): Promise<'pulled' | 'present' | 'skipped'> {
  if (policy === 'never') return 'skipped';
  if (policy === 'if-not-present' && (await port.inspectImage(image))) return 'present';
  await pullImage(port, image, () => {}, signal);
  return 'pulled';
}

/** One pull, its per-layer events folded into "Pulling image x: n%" at 10–60. */
export async function pullImage(port: DockerPort, image: string, progress: ProgressFn, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
  const tracker = new PullProgress();
  let shown = -1;
  progress(10, `Pulling image ${image}`);
  try {
    await port.pullImage(image, (ev) => {
      const pct = tracker.update(ev);
      if (pct === shown) return;
      shown = pct;
      progress(10 + Math.round(pct * 0.5), `Pulling image ${image}: ${pct}%`);
    }, signal, timeoutMs);
  } catch (err) {
    if (err instanceof DockerError && (err.kind === 'Failed' || err.kind === 'NotFound')) {
      throw new SpawnError('image', `Image ${image} could not be pulled: ${err.detail}`, { cause: err });
    }
    if (err instanceof DockerError && err.kind === 'Timeout') {
      throw new SpawnError('image', `Pulling image ${image} took longer than spawner.pull_timeout (${Math.round((timeoutMs ?? 0) / 1000)} s): raise it, or pre-pull the image (worker.prepull)`, { cause: err });
    }
    throw err;
  }
  progress(60, `Pulled image ${image}`);
}
