// How the pages read a server row: JupyterHub's ready / pending view of Berth's state machine
// (BRIEF: queued|spawning → pending spawn, stopping → pending stop, running → ready).
import { and, eq } from 'drizzle-orm';
import type { AppContext } from '../../src/context.ts';
import { schema } from '../../db/client.ts';
import type { ServerRow } from '../../db/schema/index.ts';

export type PageState = 'ready' | 'spawn' | 'stop' | 'failed' | 'stopped';

export function pageState(row: ServerRow | undefined): PageState {
  switch (row?.state) {
    case 'running': return 'ready';
    case 'queued': case 'spawning': return 'spawn';
    case 'stopping': return 'stop';
    case 'failed': return 'failed';
    default: return 'stopped';
  }
}

export const findServer = (ctx: AppContext, userId: number, name: string) =>
  ctx.db.query.servers.findFirst({ where: and(eq(schema.servers.userId, userId), eq(schema.servers.name, name)) });

export const findUser = (ctx: AppContext, name: string) => ctx.db.query.users.findFirst({ where: eq(schema.users.name, name) });
