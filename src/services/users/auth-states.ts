// Decrypted auth state of some users, for callers holding admin:auth_state (JupyterHub shows it in
// the user model only to them): one query, and none at all when the caller may see no one's.
import { inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { grants, type ScopeSet } from '../../auth/scopes.ts';
import { authStateCrypt } from '../../auth/auth-state.ts';

export async function authStatesFor(ctx: AppContext, scopes: ScopeSet, users: { id: number; name: string }[]): Promise<Map<number, Record<string, unknown>> | undefined> {
  const visible = users.filter((u) => grants(scopes, 'admin:auth_state', { user: u.name }));
  const crypt = authStateCrypt(ctx.config);
  if (!visible.length || !crypt.enabled) return undefined;
  const rows = await ctx.db.select().from(schema.userAuth).where(inArray(schema.userAuth.userId, visible.map((u) => u.id)));
  const out = new Map<number, Record<string, unknown>>();
  for (const r of rows) {
    const state = crypt.decrypt(r.authState);
    if (state) out.set(r.userId, state);
  }
  return out;
}
