// The worker's side of a wake-up (src/services/worker/wake.ts): a tiny HTTP listener whose only verb,
// POST /wake, turns into this process's events. It carries no data the database does not already
// hold, so it needs no credentials: at worst a stranger makes the worker look at its queue early.
import { createServer, type Server } from 'node:http';
import type { AppContext } from '../context.ts';
import { dialable, httpUrl } from '../net.ts';

export interface WakeListener {
  /** e.g. http://127.0.0.1:41234, recorded in the lease for api processes to find. */
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 1024;

export async function listenForWakeUps(ctx: AppContext): Promise<WakeListener> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/wake') return void res.writeHead(404).end();
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { body += d; if (body.length > MAX_BODY) req.destroy(); });
    req.on('end', () => {
      let serverId: unknown;
      try { serverId = body ? (JSON.parse(body) as { server_id?: unknown }).server_id : undefined; } catch { /* a bare wake-up */ }
      ctx.events.emit('spawn-requested');
      if (typeof serverId === 'number') ctx.events.emit('server-changed', serverId);
      res.writeHead(204).end();
    });
  });
  const { ip, port } = ctx.config.worker;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
  server.unref(); // never what keeps a process alive
  const bound = (server.address() as { port: number }).port;
  return {
    url: httpUrl(dialable(ip), bound, ''),
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
