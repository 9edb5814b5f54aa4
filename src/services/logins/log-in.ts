// Turns a provider's claims into a session: the policy decides, auth state is encrypted, the
// user's groups and POSIX identity are stored, the session is created. A refusal is audited with
// its reason (the person at the page is told only that they may not log in).
import { eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { Claims, Provider } from '../../auth/providers/types.ts';
import { providersOf } from '../../auth/providers/index.ts';
import { decide } from '../../auth/policy.ts';
import { authStateCrypt } from '../../auth/auth-state.ts';
import { createSession, type CreatedSession } from '../sessions/create.ts';
import { recordAudit } from '../audit/record.ts';

export type LogInResult =
  | { ok: true; created: CreatedSession }
  /** boundTo: the label of the provider this account signs in with, when that is why. */
  | { ok: false; name: string | undefined; reason: string; boundTo?: string };

/** The provider recorded for the user of that name, if any. */
async function boundProvider(ctx: AppContext, name: string): Promise<string | undefined> {
  const [row] = await ctx.db.select({ provider: schema.userAuth.provider }).from(schema.userAuth)
    .innerJoin(schema.users, eq(schema.users.id, schema.userAuth.userId)).where(eq(schema.users.name, name));
  return row?.provider ?? undefined;
}

export async function logIn({ ctx, input }: { ctx: AppContext; input: { provider: Provider; claims: Claims } }): Promise<LogInResult> {
  const { provider, claims } = input;
  const entry = providersOf(ctx).entry(provider.name);
  if (!entry) return { ok: false, name: undefined, reason: 'provider no longer configured' };
  const decision = decide(ctx.config.auth, entry, claims);
  if (!decision.ok) {
    await recordAudit(ctx, { actor: decision.name ?? `provider:${provider.name}`, action: 'login.refused', target: decision.name, detail: { provider: provider.name, reason: decision.reason } });
    return decision;
  }
  // A name belongs to the provider that first logged it in while that provider is configured: with
  // several providers, GitHub's "alice" must not walk into LDAP's alice. Taken over by another
  // provider (the admin replaced the old one), an account never keeps an admin flag the policy did not give.
  let admin = decision.admin;
  const bound = await boundProvider(ctx, decision.name);
  if (bound && bound !== provider.name) {
    const owner = providersOf(ctx).get(bound);
    if (owner) {
      await recordAudit(ctx, { actor: decision.name, action: 'login.refused', target: decision.name, detail: { provider: provider.name, reason: `account of provider ${bound}` } });
      return { ok: false, name: decision.name, reason: `account of provider ${bound}`, boundTo: owner.label };
    }
    admin ??= false;
  }
  const crypt = authStateCrypt(ctx.config);
  const authState = crypt.enabled && claims.authState ? crypt.encrypt(claims.authState) : undefined;
  const created = await createSession({
    ctx,
    input: {
      name: decision.name, admin, groups: decision.groups, provider: provider.name, authState,
      posix: claims.uid !== undefined || claims.gid !== undefined || claims.home !== undefined ? { uid: claims.uid, gid: claims.gid, home: claims.home } : undefined,
    },
  });
  if (!created) {
    await recordAudit(ctx, { actor: decision.name, action: 'login.refused', target: decision.name, detail: { provider: provider.name, reason: 'blocked by an admin' } });
    return { ok: false, name: decision.name, reason: 'blocked by an admin' };
  }
  return { ok: true, created };
}
