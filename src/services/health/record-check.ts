// Stores the outcome of a start-up proof (how containers reach the hub, …) for /hub/health/ready,
// which may be answered by another process than the one that checked.
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';

export type CheckName = 'hub-listener' | 'hub-from-container';

export interface CheckOutcome {
  /** true: proven; false: proven broken; null: could not be checked. */
  ok: boolean | null;
  message: string;
}

export async function recordCheck(ctx: AppContext, name: CheckName, outcome: CheckOutcome): Promise<void> {
  const row = { name, ok: outcome.ok, message: outcome.message, checkedAt: ctx.clock.now(), checkedBy: ctx.instanceId };
  await ctx.db.insert(schema.healthChecks).values(row).onConflictDoUpdate({ target: schema.healthChecks.name, set: row });
}
