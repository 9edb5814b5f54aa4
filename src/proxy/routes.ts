// The proxy's in-memory route table: running servers read from the database with one query, reloaded
// when the routes change counter moves (event, ~1 s poll, or a rate-limited refresh on a miss).
import { and, eq, isNotNull } from 'drizzle-orm';
import { schema } from '../../db/client.ts';
import type { AppContext } from '../context.ts';
import { escapePath } from '../names.ts';
import { routesVersion } from '../state/routes.ts';
import type { Upstream } from './forward.ts';

export interface Route extends Upstream {
  /** servers.url as stored, e.g. http://127.0.0.1:49153 (no path). */
  target: string;
  userId: number;
  serverId: number;
  userName: string;
  serverName: string;
}

const POLL_MS = 1000;
const MISS_INTERVAL_MS = 250;
/** Characters escapePath leaves alone: a segment made only of these is already normalised. */
const CANONICAL = /^[A-Za-z0-9\-_.~@]*$/;

/**
 * Keys are relative to `<base_url>user/`: `<escaped name>` for the default server and
 * `<escaped name>/<escaped server>` for a named one. Keeping base_url out of the key lets a config
 * reload change it without rebuilding the table.
 */
export const routeKey = (user: string, server: string) => (server ? `${escapePath(user)}/${escapePath(server)}` : escapePath(user));

/** A path segment as it may arrive (`a%40b.c` or `a@b.c`) → the form escapePath produces. */
function normalise(seg: string): string | undefined {
  if (CANONICAL.test(seg)) return seg;
  try {
    return escapePath(decodeURIComponent(seg));
  } catch {
    return undefined; // malformed percent-encoding never names a server
  }
}

/** End of the path segment starting at `i`: the next '/', '?' or the end of the URL. */
function segmentEnd(url: string, i: number): number {
  for (; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) return i;
  }
  return i;
}

export function parseTarget(url: string): Upstream | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return { protocol: u.protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port };
  } catch {
    return undefined;
  }
}

export class RouteTable {
  private routes = new Map<string, Route>();
  private version = -1;
  private loading: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private nextMiss: Promise<void> | null = null;
  private lastMissAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly onEvent = () => void this.reload().catch(this.logError);
  private readonly logError = (e: unknown) => this.ctx.log.warn('proxy: route refresh failed', { error: String(e) });
  /** Resolves once the first load has finished (successfully or not). */
  readonly ready: Promise<void>;
  loaded = false;

  constructor(private readonly ctx: AppContext, pollMs = POLL_MS) {
    ctx.events.on('routes-changed', this.onEvent);
    let polling = false; // a slow database must not stack polls
    this.timer = setInterval(() => {
      if (polling) return;
      polling = true;
      this.check().catch(this.logError).finally(() => { polling = false; });
    }, pollMs);
    this.timer.unref();
    this.ready = this.reload().catch(this.logError).finally(() => { this.loaded = true; });
  }

  get size() {
    return this.routes.size;
  }

  /**
   * The route for a request URL whose `<base_url>user/` prefix ends at `start`. Whole segments only:
   * `/user/alice` and `/user/alice/…` match alice, `/user/alicex/` does not. A named server's route
   * wins over the default server's (the longer prefix), as in configurable-http-proxy.
   */
  match(url: string, start: number): Route | undefined {
    const end = segmentEnd(url, start);
    if (end === start) return undefined;
    const name = normalise(url.slice(start, end));
    if (name === undefined) return undefined;
    if (url.charCodeAt(end) === 47) {
      const end2 = segmentEnd(url, end + 1);
      if (end2 > end + 1) {
        const server = normalise(url.slice(end + 1, end2));
        const named = server === undefined ? undefined : this.routes.get(`${name}/${server}`);
        if (named) return named;
      }
    }
    return this.routes.get(name);
  }

  /** Reload now. Concurrent callers share a load; a call during a load waits for one more after it. */
  reload(): Promise<void> {
    if (!this.loading) {
      this.loading = this.load().finally(() => { this.loading = null; });
      return this.loading;
    }
    this.queued ??= this.loading.catch(() => {}).then(() => {
      this.queued = null;
      return this.reload();
    });
    return this.queued;
  }

  /** Reload only when the change counter moved (the ~1 s poll for writes by other processes). */
  async check(): Promise<void> {
    if (this.loading) await this.loading.catch(() => {});
    const v = await routesVersion(this.ctx.db);
    if (v !== this.version) await this.reload();
  }

  /**
   * A miss may be a route added a moment ago by another process. Every miss waits for a version check
   * that starts after it arrived, but checks start at most once per MISS_INTERVAL_MS, shared by all
   * misses waiting, so a flood of misses costs the database four cheap reads a second.
   */
  refreshForMiss(): Promise<void> {
    if (this.nextMiss) return this.nextMiss;
    const wait = Math.max(0, this.lastMissAt + MISS_INTERVAL_MS - Date.now());
    this.nextMiss = new Promise<void>((resolve) => setTimeout(resolve, wait)).then(() => {
      this.nextMiss = null;
      this.lastMissAt = Date.now();
      return this.check();
    }).catch(this.logError);
    return this.nextMiss;
  }

  close() {
    this.ctx.events.off('routes-changed', this.onEvent);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async load(): Promise<void> {
    // Read the version first: a change racing with the query moves it again and the poll reloads.
    const version = await routesVersion(this.ctx.db);
    const s = schema.servers;
    const u = schema.users;
    const rows = await this.ctx.db
      .select({ serverId: s.id, userId: s.userId, serverName: s.name, url: s.url, userName: u.name })
      .from(s)
      .innerJoin(u, eq(u.id, s.userId))
      .where(and(eq(s.state, 'running'), isNotNull(s.url)));
    const next = new Map<string, Route>();
    for (const r of rows) {
      const t = parseTarget(r.url!);
      if (!t) {
        this.ctx.log.warn('proxy: server has an unusable url', { serverId: r.serverId, url: r.url });
        continue;
      }
      next.set(routeKey(r.userName, r.serverName), { target: r.url!, ...t, userId: r.userId, serverId: r.serverId, userName: r.userName, serverName: r.serverName });
    }
    this.routes = next;
    this.version = version;
  }
}
