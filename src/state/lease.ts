// Leadership leases (design §3: exactly one worker acts at a time). A lease is a row with a holder
// and an expiry, taken and renewed in one short write transaction (BEGIN IMMEDIATE serialises
// processes), given up on a clean exit, and taken over when it lapses or its holder is known gone.
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { schema } from '../../db/client.ts';
import type { LeaseRow } from '../../db/schema/index.ts';
import { instanceIsGone } from '../instance.ts';

export const WORKER_LEASE = 'worker';

export interface Claim {
  name: string;
  holder: string;
  now: number;
  ttlMs: number;
  wakeUrl?: string | undefined;
}

export interface ClaimResult {
  held: boolean;
  /** The row in force after the claim (someone else's when not held). */
  lease: LeaseRow;
  /** Set when this claim took the lease from another holder. */
  takenFrom?: { holder: string; lapsed: boolean } | undefined;
}

/** Takes the lease if it is free, lapsed or its holder is gone; renews it if already ours. */
export async function claimLease(db: Db, claim: Claim): Promise<ClaimResult> {
  const l = schema.leases;
  const busy = (current: LeaseRow | undefined): boolean =>
    !!current && current.holder !== claim.holder && current.expiresAt > claim.now && !instanceIsGone(current.holder, claim.holder);
  // A standby asks every tenth of a period: a plain read, so waiting costs no write lock.
  const seen = await currentLease(db, claim.name);
  if (seen && busy(seen)) return { held: false, lease: seen };
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(l).where(eq(l.name, claim.name));
    const ours = current?.holder === claim.holder;
    const lapsed = !!current && current.expiresAt <= claim.now;
    if (current && busy(current)) return { held: false, lease: current };
    const row: LeaseRow = {
      name: claim.name, holder: claim.holder, expiresAt: claim.now + claim.ttlMs,
      acquiredAt: ours ? current.acquiredAt : claim.now, wakeUrl: claim.wakeUrl ?? null,
    };
    await tx.insert(l).values(row).onConflictDoUpdate({ target: l.name, set: { holder: row.holder, expiresAt: row.expiresAt, acquiredAt: row.acquiredAt, wakeUrl: row.wakeUrl } });
    return { held: true, lease: row, takenFrom: current && !ours ? { holder: current.holder, lapsed } : undefined };
  });
}

/** Gives the lease up (a clean exit), so a standby takes it at its next try instead of waiting. */
export async function releaseLease(db: Db, name: string, holder: string): Promise<void> {
  await db.delete(schema.leases).where(and(eq(schema.leases.name, name), eq(schema.leases.holder, holder)));
}

export async function currentLease(db: Pick<Db, 'select'>, name: string): Promise<LeaseRow | undefined> {
  const [row] = await db.select().from(schema.leases).where(eq(schema.leases.name, name));
  return row;
}
