// GET /hub/api/users/:name/server/progress and …/servers/:server/progress (spec E.3): the events
// of the current spawn as server-sent events, read from the database (woken by this process's
// 'server-changed' and a 500 ms poll for spawns run elsewhere), ending with the ready or failed event.
import { Hono, type Context } from 'hono';
import { and, asc, eq, gt } from 'drizzle-orm';
import type { AppEnv } from '../env.ts';
import type { AppContext } from '../../src/context.ts';
import { schema } from '../../db/client.ts';
import type { ServerEventRow, ServerRow } from '../../db/schema/index.ts';
import { invalid, notFound } from '../../src/errors.ts';
import { findUser, requireScope } from '../lib.ts';
import { escapeHtml } from '../../src/html.ts';
import { serverLabel, serverPrefix } from '../../src/names.ts';
import { findServerRow, findUserServer, isPending, isPendingSpawn, isReady } from '../../src/state/server.ts';
import { queuePosition } from '../../src/services/servers/queue-position.ts';

export const progressApi = new Hono<AppEnv>();

/** Keep-alive period (8 s, as JupyterHub) and the database poll; mutable for tests only. */
export const progressTiming = { keepaliveMs: 8000, pollMs: 500 };

function readyEvent(url: string) {
  return { progress: 100, ready: true, message: `Server ready at ${url}`, html_message: `Server ready at <a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`, url };
}
const failedEvent = (message: string) => ({ progress: 100, failed: true, message });

/** An event row as JupyterHub sends it; the final ones carry the full ready/failed shape. */
function wire(e: ServerEventRow, url: string): Record<string, unknown> {
  if (e.ready) return readyEvent(url);
  if (e.failed) return failedEvent(e.message);
  return { progress: e.progress, message: e.message };
}

const eventsAfter = (ctx: AppContext, row: ServerRow, afterId: number) =>
  ctx.db.select().from(schema.serverEvents)
    .where(and(eq(schema.serverEvents.serverId, row.id), eq(schema.serverEvents.spawnSeq, row.spawnSeq), gt(schema.serverEvents.id, afterId)))
    .orderBy(asc(schema.serverEvents.id));

/** The final event of a spawn that is over, from the row when no event says it (e.g. written by an older Berth). */
function finalFromRow(row: ServerRow, url: string) {
  if (isReady(row.state)) return readyEvent(url);
  if (row.failure) return failedEvent(row.failure.reason === 'cancelled' ? 'Spawn cancelled' : `Spawn failed: ${row.failure.message}`);
  return failedEvent('Spawn failed');
}

async function progress(c: Context<AppEnv>) {
  const name = c.req.param('name')!;
  const serverName = c.req.param('server') ?? '';
  requireScope(c, 'read:servers', { server: `${name}/${serverName}` });
  const ctx = c.get('ctx');
  const user = await findUser(c, name);
  const row = await findUserServer(ctx.db, user.id, serverName);
  if (!row) throw notFound(`${serverLabel(name, serverName)} has no such server`);
  const url = serverPrefix(ctx.config.hub.base_url, user.name, serverName);
  const pending = isPendingSpawn(row.state);
  // Not starting: a ready server gets only its final event, a failed or cancelled spawn its failure.
  if (!pending && !isReady(row.state) && !row.failure) throw invalid(`${serverLabel(name, serverName)} is not starting...`);

  const enc = new TextEncoder();
  let closed = false;
  let wake: (() => void) | undefined;
  const onChange = (id: number) => { if (id === row.id) wake?.(); };
  let keepalive: NodeJS.Timeout | undefined;
  const cleanup = () => {
    closed = true;
    clearInterval(keepalive);
    ctx.events.off('server-changed', onChange);
    wake?.();
  };
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (data: unknown) => { if (!closed) controller.enqueue(enc.encode(`data: ${JSON.stringify(data)}\n\n`)); };
      keepalive = setInterval(() => { if (!closed) controller.enqueue(enc.encode('\n\n')); }, progressTiming.keepaliveMs);
      ctx.events.on('server-changed', onChange);
      try {
        if (!pending) send(finalFromRow(row, url));
        else await follow(ctx, row, url, send, () => closed, (f) => { wake = f; });
      } catch (err) {
        ctx.log.warn('progress stream error', { serverId: row.id, error: String(err) });
      }
      if (!closed) { cleanup(); controller.close(); }
    },
    cancel() { cleanup(); }, // the client went away
  });
  return c.body(body, 200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
}

/** Streams the spawn's events until its final one (or the row moves on to another spawn or is deleted). */
async function follow(ctx: AppContext, row: ServerRow, url: string, send: (d: unknown) => void, isClosed: () => boolean, setWake: (f: () => void) => void) {
  let lastId = 0;
  let position: number | undefined;
  const drain = async () => {
    for (const e of await eventsAfter(ctx, row, lastId)) {
      lastId = e.id;
      send(wire(e, url));
      if (e.ready || e.failed) return true;
    }
    return false;
  };
  while (!isClosed()) {
    if (await drain()) return;
    const now = await findServerRow(ctx.db, row.id);
    if (!now || now.spawnSeq !== row.spawnSeq) return;
    if (!isPending(now.state)) {
      // over: the final event was committed with the state change, so one more read finds it
      if (!(await drain())) send(finalFromRow(now, url));
      return;
    }
    // Not an event row: the position changes with every spawn ahead, so it is computed, not stored.
    const pos = await queuePosition(ctx, now);
    if (pos !== undefined && pos !== position) send({ progress: 0, message: `Waiting for a free spawn slot: number ${pos} in the queue` });
    position = pos;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, progressTiming.pollMs);
      setWake(() => { clearTimeout(t); resolve(); });
    });
  }
}

progressApi.get('/users/:name/server/progress', progress);
progressApi.get('/users/:name/servers/:server/progress', progress);
