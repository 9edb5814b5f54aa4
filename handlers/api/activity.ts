// POST /hub/api/users/:name/activity — the single-user server's activity report (spec B.5).
// Validates exactly as JupyterHub does, then moves user/server last_activity forward only.
import { Hono } from 'hono';
import { eq } from 'drizzle-orm';
import type { AppEnv } from '../env.ts';
import { schema } from '../../db/client.ts';
import { invalid } from '../../src/errors.ts';
import { findUser, requireScope } from '../lib.ts';
import { isoZMicros, parseTimestampMicros } from '../../src/clock.ts';
import { recordActivity } from '../../src/services/activity/record.ts';

export const activityApi = new Hono<AppEnv>();

const FUTURE_SLACK_US = 59 * 60_000_000;
const SERVERS_SHAPE = 'servers must be a dict of the form {server_name: {last_activity: timestamp}}';
const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const pyRepr = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

/** Parses one reported timestamp to microseconds: naive means UTC; more than 59 minutes ahead is refused. */
function timestampMicros(value: unknown, nowUs: number): number {
  const atUs = parseTimestampMicros(value);
  if (atUs === null) throw invalid(`Not a valid timestamp: ${pyRepr(value)}`);
  if (atUs - nowUs > FUTURE_SLACK_US) throw invalid(`Rejecting activity from more than an hour in the future: ${isoZMicros(atUs)}`);
  return atUs;
}

activityApi.post('/users/:name/activity', async (c) => {
  const name = c.req.param('name');
  requireScope(c, 'users:activity', { user: name });
  const ctx = c.get('ctx');
  const user = await findUser(c, name);

  const text = await c.req.text();
  let body: unknown = null;
  if (text.trim()) {
    try {
      body = JSON.parse(text);
    } catch {
      throw invalid('Invalid JSON in body of request');
    }
  }
  if (!isDict(body)) throw invalid('body must be a json dict');
  // JupyterHub tests truthiness: "", {} and [] count as absent.
  const truthy = (v: unknown) => Boolean(v) && !(isDict(v) && Object.keys(v).length === 0) && !(Array.isArray(v) && v.length === 0);
  if (!truthy(body.last_activity) && !truthy(body.servers)) throw invalid('body must contain at least one of `last_activity` or `servers`');

  const nowUs = ctx.clock.now() * 1000;
  const updates: { serverId: number; atUs: number }[] = [];
  if (truthy(body.servers)) {
    if (!isDict(body.servers)) throw invalid(SERVERS_SHAPE);
    const rows = await ctx.db.select({ id: schema.servers.id, name: schema.servers.name }).from(schema.servers).where(eq(schema.servers.userId, user.id));
    const ids = new Map(rows.map((r) => [r.name, r.id]));
    for (const [serverName, info] of Object.entries(body.servers)) {
      const serverId = ids.get(serverName);
      if (serverId === undefined) throw invalid(`No such server '${serverName}' for user ${user.name}`);
      if (!isDict(info) || !('last_activity' in info)) throw invalid(SERVERS_SHAPE);
      updates.push({ serverId, atUs: timestampMicros(info.last_activity, nowUs) });
    }
  }
  // Everything is validated before anything is written.
  const userAtUs = truthy(body.last_activity) ? timestampMicros(body.last_activity, nowUs) : undefined;
  if (userAtUs !== undefined) await recordActivity({ ctx, input: { userId: user.id, atUs: userAtUs } });
  for (const u of updates) await recordActivity({ ctx, input: { userId: user.id, serverId: u.serverId, atUs: u.atUs } });
  return c.body(null, 200);
});
