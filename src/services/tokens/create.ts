// POST /users/:name/tokens (spec B.8): a new 32-hex API token for a user, stored hashed. Scopes are
// checked as JupyterHub does: they must exist, and the owner must hold every one of them.
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { TokenRow, UserRow } from '../../../db/schema/index.ts';
import { invalid } from '../../errors.ts';
import { hashToken, newToken, tokenPrefix } from '../../auth/tokens.ts';
import { ADMIN_SCOPES, expandScopes, formatScopes, intersectScopes, isValidScope, ownerRawScopes, type Owner } from '../../auth/scopes.ts';

/** JupyterHub's default roles, for the deprecated `roles` field. */
const ROLES: Record<string, string[]> = {
  token: ['inherit'],
  user: ['self'],
  admin: ADMIN_SCOPES,
  server: ['users:activity!user', 'access:servers!server'],
};

export interface CreateTokenInput {
  user: UserRow;
  note?: string | null | undefined;
  /** Seconds; null, undefined or 0 mean "never expires". */
  expiresIn?: number | null | undefined;
  scopes?: string[] | null | undefined;
  roles?: string[] | null | undefined;
  /** Who asks ("user:alice", "service:culler"); names the default note and the audit row. */
  actor: string;
}

export async function createToken({ ctx, input }: { ctx: AppContext; input: CreateTokenInput }): Promise<{ token: string; row: TokenRow }> {
  const { user } = input;
  if (input.scopes != null && input.roles != null) throw invalid('Can only assign one of scopes or roles when creating tokens.');
  let scopes = input.scopes ?? ['inherit'];
  if (input.roles != null) {
    scopes = input.roles.flatMap((r) => {
      const s = ROLES[r];
      if (!s) throw invalid(`No such role: ${r}`);
      return s;
    });
  }
  for (const s of scopes) if (!isValidScope(s)) throw invalid(`Scope '${s}' for token does not exist`);
  const owner: Owner = { kind: 'user', name: user.name, admin: user.admin };
  const wanted = scopes.filter((s) => s !== 'inherit');
  if (wanted.length) {
    const asked = expandScopes(wanted, owner);
    const held = new Set(formatScopes(intersectScopes(asked, expandScopes(ownerRawScopes(owner), owner))));
    const excess = formatScopes(asked).filter((s) => !held.has(s));
    if (excess.length) throw invalid(`Not assigning requested scopes ${excess.join(',')} not held by User ${user.name}`);
  }
  if (input.expiresIn != null && input.expiresIn < 0) throw invalid(`expires_in must be a positive integer or null, not ${input.expiresIn}`);

  const now = ctx.clock.now();
  const token = newToken();
  const self = input.actor === `user:${user.name}`;
  const note = input.note || (self ? 'Requested via api' : `Requested via api by ${input.actor.replace(':', ' ')}`);
  const row = await ctx.db.transaction(async (tx) => {
    const [r] = await tx.insert(schema.tokens).values({
      kind: 'api', prefix: tokenPrefix(token), hashed: hashToken(token), userId: user.id, scopes, note, createdAt: now,
      expiresAt: input.expiresIn ? now + input.expiresIn * 1000 : null,
    }).returning();
    await tx.insert(schema.audit).values({ at: now, actor: input.actor, action: 'token.create', target: user.name, detail: { id: r!.id, scopes } });
    return r!;
  });
  ctx.log.info('API token created', { by: input.actor, user: user.name, id: `a${row.id}` });
  return { token, row };
}
