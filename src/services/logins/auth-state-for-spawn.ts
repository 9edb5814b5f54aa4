// The auth state a spawn passes on (auth.auth_state.environment): decrypted, refreshed through the
// provider first when it is older than refresh_age (Authenticator.refresh_user before spawn), so a
// server gets a live access token rather than one that expired an hour ago.
import { and, eq, isNull } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { authStateCrypt } from '../../auth/auth-state.ts';
import { providersOf } from '../../auth/providers/index.ts';

export async function authStateForSpawn(ctx: AppContext, user: UserRow): Promise<Record<string, unknown> | undefined> {
  const crypt = authStateCrypt(ctx.config);
  if (!crypt.enabled) return undefined;
  const row = await ctx.db.query.userAuth.findFirst({ where: eq(schema.userAuth.userId, user.id) });
  const state = crypt.decrypt(row?.authState);
  if (!state) return undefined;
  const provider = row?.provider ? providersOf(ctx).get(row.provider) : undefined;
  const age = ctx.clock.now() - (row?.authStateAt ?? 0);
  if (!provider?.refresh || age <= ctx.config.auth.auth_state.refresh_age * 1000) return state;
  try {
    const fresh = await provider.refresh(state);
    if (!fresh?.authState) return state;
    // compare-and-set: a login or another spawn that wrote newer state meanwhile wins (a rotated
    // refresh token must not be overwritten by an older one)
    const written = await ctx.db.update(schema.userAuth).set({ authState: crypt.encrypt(fresh.authState), authStateAt: Math.max(ctx.clock.now(), (row?.authStateAt ?? 0) + 1) })
      .where(and(eq(schema.userAuth.userId, user.id), row?.authStateAt == null ? isNull(schema.userAuth.authStateAt) : eq(schema.userAuth.authStateAt, row.authStateAt)))
      .returning({ userId: schema.userAuth.userId });
    if (!written.length) {
      const now = await ctx.db.query.userAuth.findFirst({ where: eq(schema.userAuth.userId, user.id) });
      return crypt.decrypt(now?.authState) ?? fresh.authState;
    }
    return fresh.authState;
  } catch (err) {
    // the old state still goes out: the server may work with it, and the next login renews it
    ctx.log.warn('auth state refresh failed', { user: user.name, provider: provider.name, error: String(err) });
    return state;
  }
}

/** auth.auth_state.environment applied: VAR → the auth state value at that key (a.b for nested; non-strings as JSON). */
export function authStateEnv(mapping: Record<string, string>, state: Record<string, unknown> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (!state) return env;
  for (const [name, path] of Object.entries(mapping)) {
    let v: unknown = state;
    for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    if (v !== undefined && v !== null) env[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return env;
}
