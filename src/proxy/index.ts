// Berth's data plane: requests under <base_url>user/ go to the user's server (HTTP and WebSocket),
// under <base_url>services/<name>/ to a configured service with a url; everything else is left to
// the hub app. Server routes come from the database (see routes.ts), service routes from config.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AppContext } from '../context.ts';
import { serverPrefix } from '../names.ts';
import { escapeHtml } from '../html.ts';
import { ActivityRecorder } from './activity.ts';
import { Forwarder } from './forward.ts';
import { RouteTable, type Route } from './routes.ts';
import { rawStatus, tunnel } from './upgrade.ts';
import { ServiceRoutes, type ServiceRoute } from './services.ts';

export interface Proxy {
  /** true: the proxy answers (or will); false: not a route, the caller hands the request to the hub app. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** true: the proxy owns the socket; false: not a route, the caller answers 404 and closes it. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Resolves once the route table has been read for the first time (a restarted proxy waits for it). */
  ready: Promise<void>;
  /** Reload the route table now. */
  refresh(): Promise<void>;
  /** Stop timers, write pending activity, close idle upstream connections. */
  close(): Promise<void>;
}

export interface ProxyOptions {
  /**
   * The hub app's listener. With it, a request for a /user/ path that has no route waits for one
   * (rate-limited) route refresh before being handed over, so a server that just became ready in
   * another process is served at once. Without it, a miss returns false at once and refreshes behind.
   */
  fallback?: (req: IncomingMessage, res: ServerResponse) => unknown;
  /** How often to check the change counter for writes by other processes (default 1000 ms). */
  pollIntervalMs?: number;
}

export function createProxy(ctx: AppContext, opts: ProxyOptions = {}): Proxy {
  const routes = new RouteTable(ctx, opts.pollIntervalMs);
  const activity = new ActivityRecorder(ctx);
  const forwarder = new Forwarder<Route>({
    onSuccess: (route) => activity.touch(route.serverId, route.userId),
    onUnreachable: (route, req, res, err) => {
      unreachable(route, err);
      sendUnavailable(req, res, route);
    },
  });
  const upgradeHooks = {
    onOpen: (route: Route, client: Socket) => activity.trackTunnel(route.serverId, route.userId, client),
    onUnreachable: unreachable,
  };
  // Services: no activity to record, and an unreachable one is simply down (no route to refresh).
  const services = new ServiceRoutes(() => ctx.config);
  const serviceForwarder = new Forwarder<ServiceRoute>({
    onSuccess: () => {},
    onUnreachable: (route, req, res, err) => {
      serviceUnreachable(route, err);
      sendServiceUnavailable(req, res, route);
    },
  });
  const serviceHooks = { onOpen: () => {}, onUnreachable: serviceUnreachable };

  function serviceUnreachable(route: ServiceRoute, err: Error) {
    ctx.log.warn('proxy: service not reachable', { service: route.service, target: route.target, error: String(err) });
  }

  function sendServiceUnavailable(req: IncomingMessage, res: ServerResponse, route: ServiceRoute) {
    const base = ctx.config.hub.base_url;
    const message = `The service ${route.service} at ${base}services/${route.service}/ is not reachable. It may be down or restarting; try again later.`;
    send503(req, res, message, `${base}hub/home`);
  }

  function unreachable(route: Route, err: Error) {
    ctx.log.warn('proxy: server not reachable', { user: route.userName, server: route.serverName, target: route.target, error: String(err) });
    void routes.refreshForMiss();
  }

  function sendUnavailable(req: IncomingMessage, res: ServerResponse, route: Route) {
    const base = ctx.config.hub.base_url;
    const message = `The server at ${serverPrefix(base, route.userName, route.serverName)} is not reachable. It may be starting or may have stopped; try again or restart it from ${base}hub/home.`;
    send503(req, res, message, `${base}hub/home`);
  }

  function send503(req: IncomingMessage, res: ServerResponse, message: string, home: string) {
    const json = (req.headers.accept ?? '').includes('application/json');
    const body = json ? JSON.stringify({ status: 503, message }) : unavailablePage(message, home);
    res.writeHead(503, { 'Content-Type': json ? 'application/json' : 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  }

  // `<base_url>user/`, rebuilt only when a config reload changes base_url.
  let base = '';
  let prefix = '';
  function routeStart(url: string | undefined): number {
    if (ctx.config.hub.base_url !== base) {
      base = ctx.config.hub.base_url;
      prefix = `${base}user/`;
    }
    return url !== undefined && url.startsWith(prefix) ? prefix.length : -1;
  }

  /** After a miss: wait for the first load or one rate-limited refresh, then look again. */
  function lookAgain(): Promise<void> {
    return routes.loaded ? routes.refreshForMiss() : routes.ready;
  }

  return {
    handleRequest(req, res) {
      const url = req.url!;
      const service = services.match(url);
      if (service) {
        serviceForwarder.forward(req, res, service);
        return true;
      }
      const start = routeStart(url);
      if (start < 0) return false;
      const route = routes.loaded ? routes.match(url, start) : undefined;
      if (route) {
        forwarder.forward(req, res, route);
        return true;
      }
      const fallback = opts.fallback;
      if (!fallback) {
        void routes.refreshForMiss();
        return false;
      }
      void lookAgain().then(async () => {
        if (res.destroyed) return;
        const found = routes.match(url, start);
        if (found) forwarder.forward(req, res, found);
        else await fallback(req, res);
      }).catch((e: unknown) => {
        ctx.log.error('proxy: fall-through failed', { url, error: String(e) });
        res.destroy();
      });
      return true;
    },

    handleUpgrade(req, socket, head) {
      const url = req.url!;
      const service = services.match(url);
      if (service) {
        tunnel(req, socket, head, service, serviceHooks);
        return true;
      }
      const start = routeStart(url);
      if (start < 0) return false;
      const route = routes.loaded ? routes.match(url, start) : undefined;
      if (route) {
        tunnel(req, socket, head, route, upgradeHooks);
        return true;
      }
      const onError = () => socket.destroy();
      socket.on('error', onError);
      void lookAgain().then(() => {
        socket.off('error', onError);
        if (socket.destroyed) return;
        const found = routes.match(url, start);
        if (found) tunnel(req, socket, head, found, upgradeHooks);
        else socket.end(rawStatus(404, 'Not Found'), () => socket.destroy());
      });
      return true;
    },

    ready: routes.ready,
    refresh: () => routes.reload(),

    async close() {
      routes.close();
      forwarder.close();
      serviceForwarder.close();
      await activity.close();
    },
  };
}

function unavailablePage(message: string, home: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>503 — Berth</title></head><body><h1>503: Service Unavailable</h1><p>${escapeHtml(message)}</p><p><a href="${escapeHtml(home)}">Home</a></p></body></html>`;
}
