// Logs a user in: creates the user row at first login, then a hub session (design §7, spec B.4).
import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { SessionRow, UserRow } from '../../../db/schema/index.ts';
import { sha256 } from '../../auth/tokens.ts';

export interface CreateSessionInput {
  /** Normalised name from the login provider. */
  name: string;
  /** The provider says this is an admin (admin_users). Never demotes: admin may also be granted by API. */
  admin: boolean;
}

export interface CreatedSession {
  user: UserRow;
  session: SessionRow;
  /** The login cookie's value; only its SHA-256 is stored. */
  cookieSecret: string;
}

/** Returns null when the user exists but is blocked (an admin's decision outranks the password). */
export async function createSession({ ctx, input }: { ctx: AppContext; input: CreateSessionInput }): Promise<CreatedSession | null> {
  const now = ctx.clock.now();
  const cookieSecret = randomBytes(32).toString('hex');
  const maxAgeMs = Math.round(ctx.config.hub.cookie_max_age_days * 86_400_000);
  return ctx.db.transaction(async (tx) => {
    let user = await tx.query.users.findFirst({ where: eq(schema.users.name, input.name) });
    if (!user) {
      [user] = await tx.insert(schema.users).values({ name: input.name, admin: input.admin, createdAt: now }).returning();
    } else if (input.admin && !user.admin) {
      [user] = await tx.update(schema.users).set({ admin: true }).where(eq(schema.users.id, user.id)).returning();
    }
    if (!user || user.blocked) return null;
    // tidy this user's expired sessions while we are here
    await tx.delete(schema.sessions).where(and(eq(schema.sessions.userId, user.id), lt(schema.sessions.expiresAt, now)));
    const [session] = await tx
      .insert(schema.sessions)
      .values({
        cookieHash: sha256(cookieSecret),
        sessionId: randomUUID().replace(/-/g, ''), // uuid4 hex, as jupyterhub-session-id
        userId: user.id,
        xsrf: randomBytes(24).toString('base64url'),
        createdAt: now,
        expiresAt: now + maxAgeMs,
      })
      .returning();
    await tx.insert(schema.audit).values({ at: now, actor: user.name, action: 'login', target: user.name, detail: { sessionId: session!.sessionId } });
    return { user, session: session!, cookieSecret };
  });
}
