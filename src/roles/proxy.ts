// The proxy role, Berth's front door on hub.ip:hub.port: /user/<name>/… goes to that user's server
// from the database's route table (a restarted proxy has read it before it accepts a connection),
// everything else to the api — in process, or over HTTP to hub.api_url when the api runs apart. It
// also listens where the containers reach the hub (e.g. the Docker bridge address), for the hub API
// only, and proves at start-up that this address answers.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createProxy } from '../proxy/index.ts';
import { rawStatus } from '../proxy/upgrade.ts';
import { apiUrl, hubUpstream } from '../proxy/hub-upstream.ts';
import { recordCheck } from '../services/health/record-check.ts';
import type { HubProbeResult } from '../backends/types.ts';
import type { Runtime } from './runtime.ts';
import { hubApiUrl, hubUrlForServers, probeFromHere } from '../backends/hub-probe.ts';
import { closeServer, listen } from './listen.ts';
import { httpUrl, isWildcard } from '../net.ts';

export interface ProxyRole {
  url: string;
  close(): Promise<void>;
}

export async function startProxy(rt: Runtime, hub: { listener?: RequestListener | undefined }): Promise<ProxyRole> {
  const { ctx, reach } = rt;
  const upstream = hub.listener ? undefined : hubUpstream(ctx, apiUrl(ctx.config));
  const hubHandler: RequestListener = hub.listener ?? ((req, res) => upstream!.handle(req, res));
  const proxy = createProxy(ctx, { fallback: hubHandler });
  await proxy.ready; // every route is served from the first connection on

  const main = createServer((req, res) => {
    if (!proxy.handleRequest(req, res)) void hubHandler(req, res);
  });
  main.requestTimeout = 0; // Node's 300 s default would cut long uploads and long polls through the proxy
  main.on('upgrade', (req, socket, head) => {
    if (!proxy.handleUpgrade(req, socket, head)) socket.end(rawStatus(404, 'Not Found'));
  });
  // The extra addresses exist only so containers reach the hub API: nothing else is served there.
  const apiPrefix = `${ctx.config.hub.base_url}hub/api`;
  const apiOnly = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === apiPrefix || req.url?.startsWith(apiPrefix + '/') || req.url?.startsWith(apiPrefix + '?')) void hubHandler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('only the hub API is served on this address\n');
  };
  const servers: Server[] = [main, ...reach.extraListen.map(() => createServer(apiOnly))];
  const { ip, port, base_url } = ctx.config.hub;
  await listen(main, ip, port, 'BERTH_IP / BERTH_PORT or hub.ip / hub.port');
  for (const [i, addr] of reach.extraListen.entries()) await listen(servers[i + 1]!, addr.host, addr.port, 'hub.hub_connect_url, or docker.network');

  // In the background: with the api in another process the answer waits for the api to be up.
  void checkListener(rt).then(async (outcome) => {
    await recordCheck(ctx, 'hub-listener', outcome).catch((e: unknown) => ctx.log.warn('could not record the hub-listener check', { error: String(e) }));
    const line = `berth: ${reach.description}: ${outcome.message}`;
    if (outcome.ok === false) console.error(line);
    else console.log(line);
  });

  return {
    url: httpUrl(ip, port, base_url),
    async close() {
      await Promise.all(servers.map(closeServer));
      await proxy.close();
      upstream?.close();
    },
  };
}

/**
 * From this process, asks the address the containers are told for the hub API. It proves the
 * listener is up where they look; a container's own view (firewalls, routes) is proven by the
 * worker's probe.
 */
async function checkListener(rt: Runtime): Promise<HubProbeResult> {
  const { ctx, reach } = rt;
  const { hub_connect_url, ip, port, base_url } = ctx.config.hub;
  if (hub_connect_url) return { ok: null, message: 'hub.hub_connect_url is set; it is checked from a container, not from here' };
  const addr = reach.extraListen[0] ?? (isWildcard(ip) ? undefined : { host: ip, port });
  if (!addr) return { ok: null, message: `Berth listens on every address (hub.ip ${ip}); checked from a container only` };
  // Long enough for an api in another process to come up: the proxy holds the request until it does.
  return probeFromHere(hubApiUrl(hubUrlForServers(httpUrl(addr.host, addr.port, ''), base_url)), 20_000);
}
