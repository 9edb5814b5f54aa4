// Starts a redirect login: a random state, kept server-side with what the provider's callback
// needs, for ten minutes (long enough to type a password and a second factor).
import { randomBytes } from 'node:crypto';
import { lt } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { sha256 } from '../../auth/tokens.ts';

export const LOGIN_STATE_TTL_MS = 10 * 60_000;

export async function saveLoginState({ ctx, input }: { ctx: AppContext; input: { state: string; provider: string; saved: Record<string, unknown>; next: string | undefined } }) {
  const now = ctx.clock.now();
  await ctx.db.delete(schema.loginStates).where(lt(schema.loginStates.expiresAt, now)); // tidy abandoned ones
  await ctx.db.insert(schema.loginStates).values({
    id: sha256(input.state), provider: input.provider, saved: input.saved, next: input.next ?? null, createdAt: now, expiresAt: now + LOGIN_STATE_TTL_MS,
  });
}

/** A new state value: 32 random bytes, URL-safe. */
export const newLoginState = () => randomBytes(32).toString('base64url');
