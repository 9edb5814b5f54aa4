// POST/DELETE /hub/api/users/:name/server and /users/:name/servers/:server_name (spec E.1, E.2):
// start answers 201 when ready within hub.slow_spawn_timeout, else 202; stop 204 when done within
// hub.slow_stop_timeout, else 202. Bodies are empty text/plain, errors {"status","message"}.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { ServiceError } from '../../src/errors.ts';
import { findUser, jsonBody, requireScope } from '../lib.ts';
import { requestSpawn } from '../../src/services/servers/request-spawn.ts';
import { requestStop } from '../../src/services/servers/request-stop.ts';
import { waitForServer } from '../../src/services/servers/wait.ts';

export const serversApi = new Hono<AppEnv>();

type C = Context<AppEnv>;
const userOptionsBody = z.record(z.string(), z.unknown());
const stopBody = z.object({ remove: z.boolean().optional() });
const TEXT = { 'Content-Type': 'text/plain' };

/** Scope check on the server, then the user (unknown → 404). */
async function target(c: C, scope: string) {
  const name = c.req.param('name')!;
  const serverName = c.req.param('server_name') ?? '';
  requireScope(c, scope, { server: `${name}/${serverName}` });
  return { ctx: c.get('ctx'), user: await findUser(c, name), serverName };
}

async function start(c: C) {
  const { ctx, user, serverName } = await target(c, 'servers');
  const userOptions = await jsonBody(c, userOptionsBody, { optional: true });
  const { server, alreadyPending } = await requestSpawn({ ctx, input: { user, serverName, userOptions } });
  if (alreadyPending) return c.body('', 202, TEXT);
  const row = await waitForServer(ctx, server.id, ctx.config.hub.slow_spawn_timeout * 1000);
  if (row?.state === 'running') return c.body('', 201, TEXT);
  // A spawn that failed (or was cancelled) inside the wait window raises, as in JupyterHub.
  if (row && row.spawnSeq === server.spawnSeq && row.failure && (row.state === 'failed' || row.state === 'stopped')) {
    throw new ServiceError('Unavailable', row.failure.message, { status: 500 });
  }
  return c.body('', 202, TEXT);
}

async function stop(c: C) {
  const { ctx, user, serverName } = await target(c, 'delete:servers');
  const body = await jsonBody(c, stopBody, { optional: true });
  const { done } = await requestStop({ ctx, input: { user, serverName, remove: body?.remove } });
  return done ? c.body(null, 204, TEXT) : c.body('', 202, TEXT);
}

serversApi.post('/users/:name/server', start);
serversApi.post('/users/:name/servers/:server_name', start);
serversApi.delete('/users/:name/server', stop);
serversApi.delete('/users/:name/servers/:server_name', stop);
