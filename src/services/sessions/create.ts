// Logs a user in: creates the user row at first login, then a hub session (design §7, spec B.4).
import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { SessionRow, UserRow } from '../../../db/schema/index.ts';
import { sha256 } from '../../auth/tokens.ts';
import { setUserGroups } from '../groups/set-user-groups.ts';

export interface CreateSessionInput {
  /** Normalised name from the login provider. */
  name: string;
  /** true/false sets the admin flag (the policy demotes only when admin_groups decide); undefined leaves it. */
  admin: boolean | undefined;
  /** The user's groups as the provider reports them: membership is set to exactly these. Undefined leaves it. */
  groups?: string[] | undefined;
  /** The login provider's name, recorded on the user. */
  provider?: string;
  /**
   * Is this provider still configured? An account whose recorded provider is configured belongs
   * to it: another provider's login is refused (decided here, in the transaction, so two first
   * logins cannot both claim one name).
   */
  providerConfigured?: (name: string) => boolean;
  /** More than one provider is configured: an existing account no provider claimed yet keeps no admin flag the policy did not give. */
  severalProviders?: boolean;
  /** Encrypted auth state to store (null clears it); undefined leaves it. */
  authState?: string | null | undefined;
  /** POSIX identity the provider gave (LDAP); undefined leaves what is stored. */
  posix?: { uid?: number | undefined; gid?: number | undefined; home?: string | undefined } | undefined;
}

export interface CreatedSession {
  user: UserRow;
  session: SessionRow;
  /** The login cookie's value; only its SHA-256 is stored. */
  cookieSecret: string;
}

/**
 * Returns null when the user exists but is blocked (an admin's decision outranks the password), and
 * { boundTo } when the account belongs to another configured provider.
 */
export async function createSession({ ctx, input }: { ctx: AppContext; input: CreateSessionInput }): Promise<CreatedSession | null | { boundTo: string }> {
  const now = ctx.clock.now();
  const cookieSecret = randomBytes(32).toString('hex');
  const maxAgeMs = Math.round(ctx.config.hub.cookie_max_age_days * 86_400_000);
  return ctx.db.transaction(async (tx) => {
    let user = await tx.query.users.findFirst({ where: eq(schema.users.name, input.name) });
    let admin = input.admin;
    if (!user) {
      [user] = await tx.insert(schema.users).values({ name: input.name, admin: admin ?? false, createdAt: now }).returning();
    } else if (input.provider !== undefined) {
      const bound = (await tx.query.userAuth.findFirst({ where: eq(schema.userAuth.userId, user.id), columns: { provider: true } }))?.provider;
      if (bound && bound !== input.provider) {
        if (input.providerConfigured?.(bound)) return { boundTo: bound };
        admin ??= false; // taken over from a removed provider: its admin flag stays behind
      } else if (!bound && input.severalProviders) {
        admin ??= false; // made by the API (or before providers): which provider's "bob" is it? not an admin one
      }
    }
    if (!user || user.blocked) return null;
    if (admin !== undefined && admin !== user.admin) {
      [user] = await tx.update(schema.users).set({ admin }).where(eq(schema.users.id, user.id)).returning();
    }
    const auth: Partial<typeof schema.userAuth.$inferInsert> = {};
    if (input.provider !== undefined) auth.provider = input.provider;
    if (input.authState !== undefined) Object.assign(auth, { authState: input.authState, authStateAt: input.authState === null ? null : now });
    if (input.posix?.uid !== undefined) auth.posixUid = input.posix.uid;
    if (input.posix?.gid !== undefined) auth.posixGid = input.posix.gid;
    if (input.posix?.home !== undefined) auth.homeDir = input.posix.home;
    if (Object.keys(auth).length) {
      await tx.insert(schema.userAuth).values({ userId: user!.id, ...auth }).onConflictDoUpdate({ target: schema.userAuth.userId, set: auth });
    }
    if (input.groups) await setUserGroups(tx, user!.id, input.groups, now);
    // tidy this user's expired sessions while we are here
    await tx.delete(schema.sessions).where(and(eq(schema.sessions.userId, user!.id), lt(schema.sessions.expiresAt, now)));
    const [session] = await tx
      .insert(schema.sessions)
      .values({
        cookieHash: sha256(cookieSecret),
        sessionId: randomUUID().replace(/-/g, ''), // uuid4 hex, as jupyterhub-session-id
        userId: user!.id,
        xsrf: randomBytes(24).toString('base64url'),
        createdAt: now,
        expiresAt: now + maxAgeMs,
      })
      .returning();
    await tx.insert(schema.audit).values({ at: now, actor: user!.name, action: 'login', target: user!.name, detail: { sessionId: session!.sessionId, provider: input.provider ?? null, groups: input.groups ?? null } });
    return { user: user!, session: session!, cookieSecret };
  });
}
