// Home volumes and log tails as every Docker-based backend reads them: found by Berth's labels on the
// engine it talks to, and the last N lines of a server's output.
import type { Config } from '../../config/schema.ts';
import type { ListedVolume } from '../types.ts';
import { LABELS, ownLabelFilter } from '../docker/container-spec.ts';
import type { DockerPort } from '../docker/port.ts';

/** The home volumes this Berth created (volumeLabels / homeVolumeLabels), found by label. */
export async function listHomeVolumes(port: DockerPort, config: Config): Promise<ListedVolume[]> {
  return (await port.listVolumes(ownLabelFilter(config))).map((v) => ({
    name: v.Name,
    user: v.Labels?.[LABELS.user] ?? '',
    createdAt: engineTime((v as { CreatedAt?: string }).CreatedAt),
  }));
}

/** The last `tail` lines of `text`, without its final newline. */
export function lastLines(text: string, tail: number): string {
  return text.replace(/\n$/, '').split('\n').slice(-tail).join('\n');
}

/** An engine timestamp (RFC 3339) in ms; undefined for the zero time the engine gives a container that never ran. */
export function engineTime(text: string | undefined): number | undefined {
  const at = text ? Date.parse(text) : NaN;
  return Number.isFinite(at) && at > 0 ? at : undefined;
}
