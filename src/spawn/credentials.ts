// A spawn's credentials (spec F): the server's own API token and its OAuth client, whose secret is
// that token hashed with 16384 rounds. Any previous pair of this server is replaced.
import { eq } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { schema } from '../../db/client.ts';
import type { ServerRow, UserRow } from '../../db/schema/index.ts';
import { GENERATED_ROUNDS, USER_SUPPLIED_ROUNDS, hashToken, newToken, tokenPrefix } from '../auth/tokens.ts';
import { serverTokenScopes } from '../auth/scopes.ts';
import { oauthClientId, serverPrefix } from '../names.ts';
import { SpawnError } from '../errors.ts';
import { releaseClientId, revokeServerCredentials } from '../state/server.ts';

/** Creates the pair in one short transaction and returns the clear-text token (it only lives in the spawn's env). */
export async function issueServerCredentials(ctx: AppContext, row: ServerRow, user: UserRow): Promise<string> {
  const token = newToken();
  const prefix = serverPrefix(ctx.config.hub.base_url, user.name, row.name);
  const clientId = oauthClientId(user.name, row.name);
  // Hash outside the transaction: 16384 rounds is CPU time the write lock need not wait for.
  const tokenHash = hashToken(token, GENERATED_ROUNDS);
  const secretHash = hashToken(token, USER_SUPPLIED_ROUNDS);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (tx) => {
    await revokeServerCredentials(tx, row.id);
    await releaseClientId(tx, clientId);
    const clash = await tx.select({ serverId: schema.oauthClients.serverId }).from(schema.oauthClients).where(eq(schema.oauthClients.id, clientId));
    if (clash.length) {
      // spec A.3: user "alice" + server "x" and user "alice-x" share a client id; refuse rather than steal it
      throw new SpawnError('create', `OAuth client id ${clientId} is already in use by another running server; choose another server name`);
    }
    await tx.insert(schema.tokens).values({
      kind: 'server', prefix: tokenPrefix(token), hashed: tokenHash, userId: user.id, serverId: row.id,
      scopes: serverTokenScopes(user.name, row.name), note: `Server at ${prefix}`, createdAt: now,
    });
    await tx.insert(schema.oauthClients).values({
      id: clientId, secretHash, redirectUri: `${prefix}oauth_callback`, description: `Server at ${prefix}`,
      allowedScopes: [...ctx.config.spawner.oauth_client_allowed_scopes, `access:servers!server=${user.name}/${row.name}`],
      serverId: row.id, createdAt: now,
    });
  });
  return token;
}
