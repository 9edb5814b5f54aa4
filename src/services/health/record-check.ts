// Stores the outcome of a start-up proof (how containers reach the hub, …) for /hub/health/ready,
// which may be answered by another process than the one that checked.
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { HubProbeResult } from '../../backends/types.ts';

export type CheckName = 'hub-listener' | 'hub-from-container';

export async function recordCheck(ctx: AppContext, name: CheckName, outcome: HubProbeResult): Promise<void> {
  const row = { name, ok: outcome.ok, message: outcome.message, checkedAt: ctx.clock.now(), checkedBy: ctx.instanceId };
  await ctx.db.insert(schema.healthChecks).values(row).onConflictDoUpdate({ target: schema.healthChecks.name, set: row });
}
