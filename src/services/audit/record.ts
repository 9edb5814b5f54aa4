// One audit row: who did what to whom (design §4). Services inside a transaction write theirs with
// the transaction; this is for actors outside one, such as the worker.
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | undefined;
  detail?: Record<string, unknown> | undefined;
}

export async function recordAudit(ctx: AppContext, entry: AuditEntry): Promise<void> {
  await ctx.db.insert(schema.audit).values({ at: ctx.clock.now(), actor: entry.actor, action: entry.action, target: entry.target ?? null, detail: entry.detail ?? null });
}
