// Inserts server rows directly in a given state (for tests of models, filters and listings that
// must not depend on the spawn runner).
import { schema } from '../../db/client.ts';
import type { Db } from '../../db/client.ts';
import type { ServerState } from '../../db/schema/index.ts';

export async function insertServer(db: Db, userId: number, state: ServerState, o: { name?: string; at?: number; lastActivityUs?: number; userOptions?: Record<string, unknown> } = {}) {
  const at = o.at ?? Date.UTC(2026, 10, 22, 1, 0, 0);
  const [row] = await db.insert(schema.servers).values({
    userId, name: o.name ?? '', state, backend: 'fake', backendRef: { fake: `${userId}/${o.name ?? ''}` }, url: 'http://127.0.0.1:1',
    requestedAt: at, startedAt: state === 'queued' ? null : at, readyAt: state === 'running' ? at : null,
    lastActivityUs: o.lastActivityUs ?? null, userOptions: o.userOptions ?? null,
  }).returning();
  return row!;
}
