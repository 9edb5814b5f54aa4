// The api role: the Hono app (pages, REST API, OAuth provider, the servers' token check). With the
// proxy in the same process the proxy hands it requests directly; alone (`berth api`) it listens on
// hub.hub_ip:hub.hub_port, where `berth proxy` forwards to it. It keeps no state a restart loses.
import { createServer, type RequestListener, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createApp } from '../../handlers/app.ts';
import { withFastTokenCheck } from '../../handlers/api/user-fast.ts';
import { flushTokenUses } from '../services/tokens/touch.ts';
import { syncServices } from '../services/services/sync.ts';
import { ensureAdminPassword } from '../auth/providers/shared-password/index.ts';
import type { Runtime } from './runtime.ts';
import { closeServer, listen } from './listen.ts';
import { httpUrl } from '../net.ts';

export interface ApiRole {
  listener: RequestListener;
  /** Only when it listens by itself. */
  url?: string | undefined;
  reloaded(): void;
  close(): Promise<void>;
}

export async function startApi(rt: Runtime, opts: { listen: boolean }): Promise<ApiRole> {
  const { ctx } = rt;
  await syncServices(ctx);
  // the admin password belongs to the shared-password provider; a hub without it has no such password
  const { generated } = ctx.config.auth.providers.some((p) => p.kind === 'shared-password') ? await ensureAdminPassword(ctx) : {};
  // the servers' token check is answered from memory before the app (handlers/api/user-fast.ts)
  const listener = withFastTokenCheck(ctx, getRequestListener(createApp(ctx).fetch) as RequestListener);
  let server: Server | undefined;
  let url: string | undefined;
  if (opts.listen) {
    server = createServer(listener);
    const { hub_ip: ip, hub_port: port } = ctx.config.hub;
    await listen(server, ip, port, 'hub.hub_ip / hub.hub_port');
    url = httpUrl(ip, port, ctx.config.hub.base_url);
  }
  if (generated) {
    const { ip, port, base_url } = ctx.config.hub;
    console.log(`berth: generated the admin password (shown only this once): log in at ${httpUrl(ip, port, base_url)}hub/login as "${(ctx.config.auth.admin_users ?? ["admin"])[0] ?? "admin"}" with password: ${generated}`);
  }
  return {
    listener, url,
    reloaded: () => void syncServices(ctx).catch((e: unknown) => ctx.log.error('services sync failed', { error: String(e) })),
    close: async () => {
      if (server) await closeServer(server);
      await flushTokenUses(ctx.db); // the token uses waiting for their batch
    },
  };
}
