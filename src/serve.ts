// `berth serve`: api + proxy + worker in one process. Answers at once after start-up and reconciles
// running servers in the background; never stops a user's server on exit (restart-safe).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import { getRequestListener } from '@hono/node-server';
import { loadConfig, dbUrl, ConfigError } from './config/load.ts';
import { createLogger } from './log.ts';
import { systemClock } from './clock.ts';
import { openDb } from '../db/client.ts';
import { createBackend } from './backends/index.ts';
import { createApp } from '../handlers/app.ts';
import { createProxy } from './proxy/index.ts';
import { rawStatus } from './proxy/upgrade.ts';
import { SpawnRunner } from './spawn/runner.ts';
import { reconcileServers } from './services/servers/reconcile.ts';
import { syncServices } from './services/services/sync.ts';
import { ensureAdminPassword } from './auth/password.ts';
import { startWorker } from './worker/index.ts';
import { ServiceError } from './errors.ts';
import type { AppContext } from './context.ts';

export async function serve(opts: { configFile?: string | undefined }) {
  const { config, source } = loadConfig({ file: opts.configFile });
  const log = createLogger(config.hub.log_level);
  const backend = createBackend(config, log);
  const reach = await backend.init({ port: config.hub.port, connectUrl: config.hub.hub_connect_url });
  const db = await openDb(dbUrl(config), { authToken: config.hub.db_auth_token });
  const ctx: AppContext = { config, db, backend, clock: systemClock, log, events: new EventEmitter(), hubUrl: reach.hubUrl };
  ctx.events.setMaxListeners(0); // one listener per open progress stream

  await syncServices(ctx);
  const { generated } = await ensureAdminPassword(ctx);

  const app = createApp(ctx);
  const hubListener = getRequestListener(app.fetch);
  // With a fallback, a miss refreshes the route table once before the hub answers, so the first
  // request to a server that became ready a moment ago (in another process) is proxied, not redirected.
  const proxy = createProxy(ctx, { fallback: hubListener });
  const main = createServer((req, res) => {
    if (!proxy.handleRequest(req, res)) void hubListener(req, res);
  });
  main.requestTimeout = 0; // Node's 300 s default would cut long uploads and long polls through the proxy
  main.on('upgrade', (req, socket, head) => {
    if (!proxy.handleUpgrade(req, socket, head)) socket.end(rawStatus(404, 'Not Found'));
  });
  // Extra listeners (e.g. the Docker bridge gateway) exist only so containers reach the hub API.
  const apiPrefix = `${config.hub.base_url}hub/api`;
  const apiOnly = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === apiPrefix || req.url?.startsWith(apiPrefix + '/') || req.url?.startsWith(apiPrefix + '?')) void hubListener(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('only the hub API is served on this address\n');
  };
  const servers: Server[] = [main, ...reach.extraListen.map(() => createServer(apiOnly))];
  await listen(main, config.hub.ip, config.hub.port);
  for (const [i, addr] of reach.extraListen.entries()) await listen(servers[i + 1]!, addr.host, addr.port);

  const url = `http://${config.hub.ip.includes(':') ? `[${config.hub.ip}]` : config.hub.ip}:${config.hub.port}${config.hub.base_url}`;
  console.log(`berth: listening on ${url} (config: ${source}, backend: ${backend.kind}, hub API for servers: ${reach.hubUrl})`);
  if (generated) {
    console.log(`berth: generated the admin password (shown only this once): log in at ${url}hub/login as "${config.auth.admin_users[0] ?? 'admin'}" with password: ${generated}`);
  }

  // Answer first, then adopt what is still running and only then take queued spawns.
  const runner = new SpawnRunner(ctx);
  void reconcileServers(ctx).then(
    (r) => { log.info('reconciled servers', r); runner.start(); },
    (e) => { log.error('reconcile failed; spawns run anyway', { error: String(e) }); runner.start(); },
  );
  const worker = startWorker(ctx);

  process.on('SIGHUP', () => {
    try {
      const next = loadConfig({ file: opts.configFile }).config;
      ctx.config = next; // new requests and spawns use it; running servers are untouched
      void syncServices(ctx);
      log.info('configuration reloaded', { source });
    } catch (e) {
      log.error('configuration reload refused; the previous one stays in force', { error: e instanceof ConfigError ? e.problems : String(e) });
    }
  });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info('shutting down; user servers keep running', { signal });
    worker.stop();
    for (const s of servers) { s.close(); s.closeIdleConnections?.(); }
    await runner.close();
    await proxy.close();
    await backend.close?.();
    db.$client.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return { ctx, servers };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new ServiceError('Unavailable', `${host}:${port} is already in use: stop the other process or pick another port (BERTH_PORT or hub.port)`));
      else if (e.code === 'EADDRNOTAVAIL') reject(new ServiceError('Unavailable', `cannot listen on ${host}:${port}: no such address on this machine (check BERTH_IP or hub.ip)`));
      else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
}
