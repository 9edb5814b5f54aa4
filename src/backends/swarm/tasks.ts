// How the swarm backend reads a service's tasks: which states are final, the newest task, what a
// task means to poll, and the wait between looks (start(), stop() and the hub probe all wait on tasks).
import type { PollResult } from '../types.ts';
import type { TaskInfo } from './port.ts';

/** How often a wait looks at the task. */
export const WAIT_STEP_MS = 200;

/** Task states after which the task never runs again (RestartPolicy none: no new task follows). */
export const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

/** The newest task of a service (RestartPolicy none: there is one, unless the swarm rescheduled it). */
export function latest(tasks: TaskInfo[]): TaskInfo | undefined {
  return [...tasks].sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? '')).at(-1);
}

/** A service's state from its task: scheduled or starting is running (the swarm is starting it). */
export function taskPoll(task: TaskInfo | undefined): PollResult {
  const state = task?.Status?.State;
  if (!state || !ENDED.has(state)) return { status: 'running' };
  return { status: 'exited', exitCode: task?.Status?.ContainerStatus?.ExitCode };
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller then sees the abort itself). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); }
    signal?.addEventListener('abort', done, { once: true });
  });
}
