// POST /hub/api/users/:name/activity — the single-user server's activity report (spec B.5).
// Validates exactly as JupyterHub does, then moves user/server last_activity forward only.
import { Hono } from 'hono';
import { eq } from 'drizzle-orm';
import type { AppEnv } from '../env.ts';
import { schema } from '../../db/client.ts';
import { invalid } from '../../src/errors.ts';
import { findUser, requireScope } from '../lib.ts';
import { isoZ, parseTimestamp } from '../../src/clock.ts';
import { recordActivity } from '../../src/services/activity/record.ts';

export const activityApi = new Hono<AppEnv>();

const FUTURE_SLACK_MS = 59 * 60_000;
const SERVERS_SHAPE = 'servers must be a dict of the form {server_name: {last_activity: timestamp}}';
const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const pyRepr = (v: unknown) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

/** Parses one reported timestamp: naive means UTC; more than 59 minutes ahead is refused. */
function timestamp(value: unknown, now: number): number {
  const at = parseTimestamp(value);
  if (at === null) throw invalid(`Not a valid timestamp: ${pyRepr(value)}`);
  if (at - now > FUTURE_SLACK_MS) throw invalid(`Rejecting activity from more than an hour in the future: ${isoZ(at)}`);
  return at;
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

  const now = ctx.clock.now();
  const updates: { serverId: number; at: number }[] = [];
  if (truthy(body.servers)) {
    if (!isDict(body.servers)) throw invalid(SERVERS_SHAPE);
    const rows = await ctx.db.select({ id: schema.servers.id, name: schema.servers.name }).from(schema.servers).where(eq(schema.servers.userId, user.id));
    const ids = new Map(rows.map((r) => [r.name, r.id]));
    for (const [serverName, info] of Object.entries(body.servers)) {
      const serverId = ids.get(serverName);
      if (serverId === undefined) throw invalid(`No such server '${serverName}' for user ${user.name}`);
      if (!isDict(info) || !('last_activity' in info)) throw invalid(SERVERS_SHAPE);
      updates.push({ serverId, at: timestamp(info.last_activity, now) });
    }
  }
  // Everything is validated before anything is written.
  const userAt = truthy(body.last_activity) ? timestamp(body.last_activity, now) : undefined;
  if (userAt !== undefined) await recordActivity({ ctx, input: { userId: user.id, at: userAt } });
  for (const u of updates) await recordActivity({ ctx, input: { userId: user.id, serverId: u.serverId, at: u.at } });
  return c.body(null, 200);
});
