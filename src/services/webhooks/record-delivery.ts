// Remembers an accepted webhook call's signature until its timestamp goes stale, so the same signed
// call cannot act twice. One insert-or-fail statement (the signature digest is the primary key), so of
// two identical calls arriving together exactly one gets the row; the other is a replay. The expire
// job (src/worker/jobs/expire.ts) deletes rows past expiresAt.
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { conflict } from '../../errors.ts';
import type { Verified } from './signature.ts';

export async function recordDelivery(ctx: AppContext, delivery: Verified): Promise<void> {
  const w = schema.webhookDeliveries;
  // After timestamp + tolerance the signature is refused as stale anyway, so the row can go then.
  // (Raising tolerance_seconds does not lengthen rows already written: a call accepted just before
  // the change could be replayed once, after its row is gone and before the new tolerance ends.)
  const expiresAt = (delivery.timestamp + ctx.config.webhooks.tolerance_seconds) * 1000;
  const rows = await ctx.db.insert(w).values({ signature: delivery.digest, receivedAt: ctx.clock.now(), expiresAt })
    .onConflictDoNothing({ target: w.signature })
    .returning({ signature: w.signature });
  if (rows.length === 0) {
    throw conflict('This webhook call was already accepted (same signature); send each call with a fresh timestamp and signature');
  }
}
