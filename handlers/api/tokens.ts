// /hub/api/users/:name/tokens[/:token_id]: list, create, read and revoke a user's API tokens (spec B.8).
import { Hono, type Context } from 'hono';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { schema } from '../../db/client.ts';
import { ServiceError, notFound } from '../../src/errors.ts';
import { actorOf, caller, findUser, jsonBody, requireScope } from '../lib.ts';
import { grants } from '../../src/auth/scopes.ts';
import { listTokens } from '../../src/services/tokens/list.ts';
import { createToken } from '../../src/services/tokens/create.ts';
import { revokeToken } from '../../src/services/tokens/revoke.ts';
import { tokenModel } from '../../src/models/token.ts';
import type { UserRow } from '../../db/schema/index.ts';

export const tokensApi = new Hono<AppEnv>();

const createBody = z.object({
  note: z.string().nullable().optional(),
  expires_in: z.number().int('token expires_in must be null or integer').nullable().optional(),
  scopes: z.array(z.string()).nullable().optional(),
  roles: z.array(z.string()).nullable().optional(),
  // Credentials for unauthenticated requests (handed to the Authenticator in JupyterHub); not supported yet.
  auth: z.unknown().optional(),
}).strict();

type C = Context<AppEnv>;

/** The user's live token `a<id>`, or 404 "No such token …" (wrong owner and bad ids included). */
async function findToken(c: C, user: UserRow, tokenId: string) {
  const m = /^a(\d{1,15})$/.exec(tokenId);
  const [found] = m ? await listTokens({ ctx: c.get('ctx'), input: { userId: user.id, tokenId: Number(m[1]) } }) : [];
  if (!found) throw notFound(`No such token ${tokenId} for user ${user.name}`);
  return found;
}

tokensApi.get('/users/:name/tokens', async (c) => {
  const name = c.req.param('name');
  requireScope(c, 'read:tokens', { user: name });
  const user = await findUser(c, name);
  const tokens = await listTokens({ ctx: c.get('ctx'), input: { userId: user.id } });
  return c.json({ api_tokens: tokens.map((t) => tokenModel(t, user)) });
});

tokensApi.post('/users/:name/tokens', async (c) => {
  const name = c.req.param('name');
  const id = caller(c);
  const user = await c.get('ctx').db.query.users.findFirst({ where: eq(schema.users.name, name) });
  // JupyterHub answers "no such user" and "not yours" alike here: 403.
  if (!user || !grants(id.scopes, 'tokens', { user: name })) {
    throw new ServiceError('Forbidden', `${id.kind === 'user' ? 'User' : 'Service'} ${name} not found or no permissions to generate tokens`);
  }
  const body = (await jsonBody(c, createBody, { optional: true })) ?? {};
  const { token, row } = await createToken({
    ctx: c.get('ctx'),
    input: { user, note: body.note, expiresIn: body.expires_in, scopes: body.scopes, roles: body.roles, actor: actorOf(id) },
  });
  return c.json({ ...tokenModel({ row, clientDescription: null, serverName: null, serverOwner: null }, user), token }, 201);
});

tokensApi.get('/users/:name/tokens/:token_id', async (c) => {
  const name = c.req.param('name');
  requireScope(c, 'read:tokens', { user: name });
  const user = await findUser(c, name);
  return c.json(tokenModel(await findToken(c, user, c.req.param('token_id')), user));
});

tokensApi.delete('/users/:name/tokens/:token_id', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, 'tokens', { user: name });
  const user = await findUser(c, name);
  const { row } = await findToken(c, user, c.req.param('token_id'));
  await revokeToken({ ctx: c.get('ctx'), input: { user, token: row, actor: actorOf(id) } });
  return c.body(null, 204);
});
