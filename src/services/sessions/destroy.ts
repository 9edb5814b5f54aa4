// Logs a session out: deletes it and every token (and unredeemed OAuth code) issued under its session
// id, which is what kills the single-user servers' OAuth cookies (spec B.4 logout, H25).
import { and, eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { SessionRow } from '../../../db/schema/index.ts';

export interface DestroySessionInput {
  session: SessionRow;
  /** The browser's jupyterhub-session-id cookie, when it differs from the session's own. */
  browserSessionId?: string | undefined;
}

export async function destroySession({ ctx, input }: { ctx: AppContext; input: DestroySessionInput }): Promise<{ revokedTokens: number }> {
  const { session } = input;
  const ids = [...new Set([session.sessionId, input.browserSessionId].filter((v): v is string => !!v))];
  return ctx.db.transaction(async (tx) => {
    await tx.delete(schema.sessions).where(eq(schema.sessions.id, session.id));
    // Only this user's tokens: a session id is not a secret, so never revoke someone else's by it.
    const revoked = await tx
      .delete(schema.tokens)
      .where(and(eq(schema.tokens.userId, session.userId), inArray(schema.tokens.sessionId, ids)))
      .returning({ id: schema.tokens.id });
    // and codes not yet redeemed: one exchanged after logout would mint a token for a dead session
    await tx.delete(schema.oauthCodes).where(and(eq(schema.oauthCodes.userId, session.userId), inArray(schema.oauthCodes.sessionId, ids)));
    const user = await tx.query.users.findFirst({ where: eq(schema.users.id, session.userId), columns: { name: true } });
    await tx.insert(schema.audit).values({
      at: ctx.clock.now(), actor: user?.name ?? String(session.userId), action: 'logout', target: user?.name ?? null,
      detail: { sessionId: session.sessionId, revokedTokens: revoked.length },
    });
    return { revokedTokens: revoked.length };
  });
}
