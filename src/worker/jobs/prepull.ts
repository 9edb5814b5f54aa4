// The pre-pull job: the configured images (spawner.image and worker.prepull.images) are made present
// before anyone waits for them at a spawn — on its schedule, when a worker takes the lease, and at
// once after a config reload. The backend's pull policy decides ('never' pulls nothing). A failure
// is logged and listed in the job's result (so GET /hub/api/worker shows it); the other images go on.
import type { AppContext } from '../../context.ts';

export interface PrepullResult extends Record<string, unknown> {
  pulled: string[];
  present: string[];
  skipped: string[];
  /** Images that could not be pulled (the job then reports outcome "error"). */
  errors: { image: string; error: string }[];
}

export function prepullImages(ctx: AppContext): string[] {
  return [...new Set([ctx.config.spawner.image, ...ctx.config.worker.prepull.images])];
}

export async function prepull(ctx: AppContext, signal?: AbortSignal): Promise<PrepullResult> {
  const result: PrepullResult = { pulled: [], present: [], skipped: [], errors: [] };
  const backend = ctx.backend;
  if (!backend.pullImage) return { ...result, skipped: prepullImages(ctx), reason: `the ${backend.kind} backend does not pull images` };
  // One at a time: pulls share the machine's bandwidth and disk with running servers.
  for (const image of prepullImages(ctx)) {
    try {
      const done = await backend.pullImage(image, signal);
      result[done].push(image);
      if (done === 'pulled') ctx.log.info('worker: pre-pulled image', { image });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      ctx.log.warn('worker: could not pre-pull image', { image, error });
      result.errors.push({ image, error });
    }
  }
  return result;
}
