// POST /hub/api/webhooks/spawn: a CI system, an LMS or a calendar starts or stops listed users'
// servers. Authenticated by an HMAC signature of the body (src/services/webhooks/signature.ts), not a
// token; off (404) until webhooks.secret is set. Everything is checked before anything is done (the
// signature, the clock, the body, that every user exists), so a refused call changes nothing; then
// the signature is recorded (a replay is 409) and each user's server is queued or stopped without
// waiting: 202 with one outcome per user. Errors are JupyterHub's {"status","message"}.
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { invalid, notFound } from '../../src/errors.ts';
import { jsonBody } from '../lib.ts';
import { checkServerName } from '../../src/services/servers/named.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyDelivery } from '../../src/services/webhooks/signature.ts';
import { recordDelivery } from '../../src/services/webhooks/record-delivery.ts';
import { findUsers, forUsers } from '../../src/services/servers/for-users.ts';
import { recordAudit } from '../../src/services/audit/record.ts';

export const webhooksApi = new Hono<AppEnv>();

const spawnBody = z.object({
  action: z.enum(['start', 'stop']),
  users: z.array(z.string().min(1).max(255)).min(1, 'list at least one user'),
  /** A named server; '' (the default) is the user's default server. */
  server: z.string().default(''),
  /** Becomes the spawn's user_options, as a POST /users/:name/server body does; start only. */
  user_options: z.record(z.string(), z.unknown()).optional(),
}).strict();

webhooksApi.post('/webhooks/spawn', async (c) => {
  const ctx = c.get('ctx');
  const { secret, max_users } = ctx.config.webhooks;
  if (!secret) throw notFound('Webhooks are off: set webhooks.secret in berth.yaml (e.g. secret: ${BERTH_WEBHOOK_SECRET}, at least 16 characters) to enable POST /hub/api/webhooks/spawn');

  const rawBody = new Uint8Array(await c.req.arrayBuffer());
  let delivery;
  try {
    delivery = verifyDelivery(ctx, secret, { timestamp: c.req.header(TIMESTAMP_HEADER), signature: c.req.header(SIGNATURE_HEADER), rawBody });
  } catch (err) {
    ctx.log.warn('webhook refused', { reason: (err as Error).message });
    throw err;
  }
  const body = (await jsonBody(c, spawnBody))!;
  const names = [...new Set(body.users)];
  if (names.length > max_users) throw invalid(`Too many users: ${names.length} (webhooks.max_users is ${max_users}); split the call`);
  if (body.user_options && body.action !== 'start') throw invalid('Invalid request body: user_options: only for action "start"');
  checkServerName(ctx.config, body.server);
  const { found, missing } = await findUsers(ctx, names);
  if (missing.length) throw notFound(`No such user${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (nothing was done)`);

  await recordDelivery(ctx, delivery);
  const results = await forUsers({ ctx, input: { action: body.action, users: found, serverName: body.server, userOptions: body.user_options } });
  const tally: Record<string, number> = {};
  for (const r of results) tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
  await recordAudit(ctx, { actor: 'webhook', action: `webhook.${body.action}`, target: body.server || undefined, detail: { timestamp: delivery.timestamp, users: names, outcomes: tally } });
  ctx.log.info('webhook accepted', { action: body.action, server: body.server, users: names.length, ...tally });
  return c.json({ action: body.action, server: body.server, results }, 202);
});
