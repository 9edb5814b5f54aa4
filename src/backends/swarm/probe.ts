// probeHubReach for swarm: a one-off service from the spawner image, on the servers' network and
// naming the hub as they do, GETs the hub API; its task's output and exit code are the proof. The
// script and what its output means are every engine backend's (src/backends/engine/probe.ts).
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import { hubApiUrl } from '../hub-probe.ts';
import { imageNotPresent, PROBE_WAIT_MS, probeCommand, probeNotRun, probeOutcome, type ProbeRunner } from '../engine/probe.ts';
import type { HubProbeResult } from '../types.ts';
import { probeLabels } from '../docker/container-spec.ts';
import { DockerError } from '../docker/port.ts';
import type { SwarmPort, TaskInfo } from './port.ts';
import { SWARM_KIND, type SwarmNetworking, hubHosts } from './service-spec.ts';
import { ENDED, WAIT_STEP_MS, latest, sleep } from './tasks.ts';

export const SWARM_RUNNER: ProbeRunner = { client: 'a swarm task', run: 'service' };

/** Output lines read back from the probe (the script prints one body or one error). */
const OUTPUT_TAIL = 20;

/**
 * The probe service: no restarts (one run is the answer), labelled as a probe of this kind, joined
 * to the servers' network with their hub name. It is placed on this node because the image check is
 * local: only here is the image known to be present (a worker might pull it, or lack it), and in host
 * mode the hub's docker_gwbridge address holds only for tasks on this node anyway.
 */
export function probeServiceBody(args: {
  config: Config; name: string; networking: SwarmNetworking; apiUrl: string; node: string | undefined;
  creator?: string | undefined; at: number;
}): Record<string, unknown> {
  const { config, networking } = args;
  const labels = probeLabels(config, { creator: args.creator, at: args.at }, SWARM_KIND);
  return {
    Name: args.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: { Image: config.spawner.image, Labels: labels, Command: probeCommand(args.apiUrl), ...hubHosts(networking) },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: { Constraints: args.node ? [`node.id==${args.node}`] : [] },
      Networks: [{ Target: networking.network }],
    },
    Mode: { Replicated: { Replicas: 1 } },
  };
}

/**
 * The exit code of an ended task, or why there is none to judge by: a task the swarm rejected, or
 * whose container never started (no /bin/sh in the image), ran no client, so it proves nothing.
 */
export function taskExit(task: TaskInfo): { exitCode: number } | { notRun: string } {
  const state = task.Status?.State;
  const code = task.Status?.ContainerStatus?.ExitCode;
  if (state === 'complete') return { exitCode: code ?? 0 };
  const err = task.Status?.Err ?? '';
  if (state === 'failed' && /non-zero exit/.test(err) && code !== undefined) return { exitCode: code };
  return { notRun: `task ${state}: ${err || task.Status?.Message || 'no reason given'}` };
}

export async function probeHubReach(args: {
  port: SwarmPort;
  config: Config;
  networking: SwarmNetworking;
  /** This node's swarm id (SwarmBackend.init). */
  node: string | undefined;
  hubUrl: string;
  signal?: AbortSignal | undefined;
  /** Instance id of the process asking, recorded on the service (see isStaleProbe). */
  creator?: string | undefined;
}): Promise<HubProbeResult> {
  const { port, config, signal } = args;
  const image = config.spawner.image;
  const apiUrl = hubApiUrl(args.hubUrl);
  let id: string | undefined;
  try {
    if (!(await port.engine.inspectImage(image))) return imageNotPresent(image);
    const name = `${config.docker.name_prefix}-probe-${randomBytes(4).toString('hex')}`;
    id = await port.createService(probeServiceBody({ config, name, networking: args.networking, apiUrl, node: args.node, creator: args.creator, at: Date.now() }));
    const task = await waitEnded(port, id, signal);
    if (!task) return probeOutcome({ image, apiUrl, exitCode: undefined, output: '' }, SWARM_RUNNER);
    const exit = taskExit(task);
    if ('notRun' in exit) return probeNotRun(exit.notRun, image, SWARM_RUNNER);
    return probeOutcome({ image, apiUrl, exitCode: exit.exitCode, output: await port.serviceLogs(id, OUTPUT_TAIL) }, SWARM_RUNNER);
  } catch (err) {
    return probeNotRun(err, image, SWARM_RUNNER);
  } finally {
    if (id) await port.removeService(id).catch(() => {});
  }
}

/** The service's task once it has ended; undefined when it has not within PROBE_WAIT_MS. */
async function waitEnded(port: SwarmPort, id: string, signal: AbortSignal | undefined): Promise<TaskInfo | undefined> {
  const end = Date.now() + PROBE_WAIT_MS;
  for (;;) {
    if (signal?.aborted) throw new DockerError('Aborted', 'wait for probe task', 'cancelled');
    const task = latest(await port.listTasks([id]));
    if (task?.Status?.State && ENDED.has(task.Status.State)) return task;
    if (Date.now() > end) return undefined;
    await sleep(WAIT_STEP_MS, signal);
  }
}
