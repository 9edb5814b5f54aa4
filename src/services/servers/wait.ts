// Waits for a server to leave its pending states (queued, spawning, stopping), woken by this
// process's 'server-changed' events and by a short database poll (the work may run elsewhere).
import type { AppContext } from '../../context.ts';
import type { ServerRow } from '../../../db/schema/index.ts';
import { findServerRow, isPending } from '../../state/server.ts';

const POLL_MS = 250;

/** Resolves with the row once it is no longer pending, or with the current row at the timeout (undefined if deleted). */
export function waitForServer(ctx: AppContext, serverId: number, timeoutMs: number): Promise<ServerRow> {
  return new Promise((resolve, reject) => {
    let last: ServerRow | undefined;
    let done = false;
    let checking = false;
    let again = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearInterval(poll);
      ctx.events.off('server-changed', onChange);
      if (err) reject(err);
      else resolve(last!);
    };
    const check = async () => {
      if (done) return;
      if (checking) { again = true; return; }
      checking = true;
      try {
        do {
          again = false;
          last = await findServerRow(ctx.db, serverId);
          if (!last || !isPending(last.state)) return finish();
        } while (again && !done);
      } catch (err) {
        finish(err);
      } finally {
        checking = false;
      }
    };
    const onChange = (id: number) => { if (id === serverId) void check(); };
    ctx.events.on('server-changed', onChange);
    const poll = setInterval(() => void check(), POLL_MS);
    const deadline = setTimeout(() => void findServerRow(ctx.db, serverId).then((r) => { last = r; finish(); }, finish), Math.max(0, timeoutMs));
    void check();
  });
}
