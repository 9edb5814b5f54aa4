// Routes of the configured services with a url: `<base_url>services/<name>/…` goes to the
// service's host and port with the full path kept (JupyterHub adds the route `/services/<name>/`
// → the url's scheme://host:port, and configurable-http-proxy forwards the whole path). Read from
// the live config, so a reload (SIGHUP) adds, moves or removes a route at once.
import type { Config } from '../config/schema.ts';
import type { Upstream } from './forward.ts';
import { parseTarget } from './routes.ts';

export interface ServiceRoute extends Upstream {
  service: string;
  /** services[].url as configured. */
  target: string;
}

export class ServiceRoutes {
  private config: Config | undefined;
  private routes = new Map<string, ServiceRoute>();
  private prefix = '';

  /** `current()` gives the config in force (ctx.config is replaced whole on reload). */
  constructor(private readonly current: () => Config) {}

  private refresh() {
    const config = this.current();
    if (config === this.config) return;
    this.config = config;
    this.prefix = `${config.hub.base_url}services/`;
    const next = new Map<string, ServiceRoute>();
    for (const s of config.services) {
      const t = s.url ? parseTarget(s.url) : undefined;
      if (t) next.set(s.name, { ...t, service: s.name, target: s.url!, verifyTls: true });
    }
    this.routes = next;
  }

  /** The service a request URL goes to: whole segments only (`/services/a` and `/services/a/…`, not `/services/ab/`). */
  match(url: string | undefined): ServiceRoute | undefined {
    this.refresh();
    if (url === undefined || !url.startsWith(this.prefix)) return undefined;
    const start = this.prefix.length;
    let end = start;
    while (end < url.length && url[end] !== '/' && url[end] !== '?') end++;
    if (end === start) return undefined;
    let name = url.slice(start, end);
    if (name.includes('%')) {
      try {
        name = decodeURIComponent(name);
      } catch {
        return undefined;
      }
    }
    return this.routes.get(name);
  }
}
