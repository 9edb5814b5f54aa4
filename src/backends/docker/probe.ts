// probeHubReach for Docker: a short-lived container from the spawner image, networked exactly like a
// server, GETs the hub API with whichever HTTP client the image has; what it printed is the proof.
// The script and what its output means are every engine backend's (src/backends/engine/probe.ts).
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import { hubApiUrl } from '../hub-probe.ts';
import { imageNotPresent, PROBE_WAIT_MS, probeCommand, probeNotRun, probeOutcome } from '../engine/probe.ts';
import type { HubProbeResult } from '../types.ts';
import { networkHostConfig, probeLabels } from './container-spec.ts';
import { DockerError, type DockerPort } from './port.ts';
import type { Networking } from './reach.ts';

export async function probeHubReach(args: {
  port: DockerPort;
  config: Config;
  networking: Networking;
  hubUrl: string;
  signal?: AbortSignal | undefined;
  /** Instance id of the process asking, recorded on the container (see isStaleProbe). */
  creator?: string | undefined;
  /** The backend kind asking (its berth.backend label): each kind's removeStaleProbes sees only its own. */
  kind?: string;
}): Promise<HubProbeResult> {
  const { port, config, networking, signal } = args;
  const image = config.spawner.image;
  const apiUrl = hubApiUrl(args.hubUrl);
  let id: string | undefined;
  try {
    if (!(await port.inspectImage(image))) return imageNotPresent(image);
    id = await port.createContainer({
      name: `${config.docker.name_prefix}-probe-${randomBytes(4).toString('hex')}`,
      Image: image,
      Entrypoint: probeCommand(apiUrl),
      Labels: probeLabels(config, { creator: args.creator, at: Date.now() }, args.kind),
      HostConfig: { ...networkHostConfig(networking), RestartPolicy: { Name: 'no' } },
    });
    await port.startContainer(id);
    let exitCode: number | undefined;
    try {
      exitCode = await port.waitContainer(id, PROBE_WAIT_MS, signal);
    } catch (err) {
      if (!(err instanceof DockerError && err.kind === 'Timeout')) throw err;
    }
    return probeOutcome({ image, apiUrl, exitCode, output: await port.containerLogs(id, 20) });
  } catch (err) {
    return probeNotRun(err, image);
  } finally {
    if (id) await port.removeContainer(id).catch(() => {});
  }
}
