// A small, faithful TypeScript port of jupyterhub-idle-culler 2.0.0's cull_idle() (one cycle), so
// tests replay the culler's exact requests against Berth: the same URLs (quote() where it quotes, the
// raw name where it does not), the same query order (url_concat of a dict), the same headers, the same
// decisions (pending skipped, not-ready skipped, server["url"] read even when "ready" is present,
// inactive from last_activity else started), and the same order of work: both user listings are
// fetched to the end first, then each user is handled in turn, its servers concurrently.
// Not ported: SSL options, the custom cull_arbiter hook (the default one is inlined), logging prose.

export interface CullerOptions {
  /** --url: the hub API, e.g. http://127.0.0.1:8081/hub/api (no trailing slash). */
  url: string;
  /** $JUPYTERHUB_API_TOKEN. */
  apiToken: string;
  /** --timeout, seconds. */
  inactiveLimit: number;
  cullUsers?: boolean;
  removeNamedServers?: boolean;
  maxAge?: number;
  concurrency?: number;
  cullAdminUsers?: boolean;
  /** --api-page-size; 0 sends no limit. */
  apiPageSize?: number;
  cullDefaultServers?: boolean;
  cullNamedServers?: boolean;
  /** utcnow(), which the culler's own tests mock. */
  now?: () => Date;
  /** The HTTP client (tornado's AsyncHTTPClient.fetch): a real fetch or an in-process app.request. */
  fetch: (url: string, init: RequestInit) => Promise<Response>;
}

export interface CullerRequest { method: string; url: string; status: number; body?: string | undefined; accept?: string | undefined }

export interface CullerRun {
  /** Every request, in the order it was sent. */
  requests: CullerRequest[];
  /** What the culler would have logged with logger.exception / warning (per user). */
  errors: { user: string; error: string }[];
  warnings: string[];
}

type Json = Record<string, unknown>;

/** tornado's HTTPError: any non-2xx reply raises (fetch's raise_error=True). */
class HTTPError extends Error {}

/** Python's urllib.parse.quote(s, safe='/'): all but A-Z a-z 0-9 _ . - ~ and `safe` become %XX of the UTF-8 bytes. */
export function pyQuote(s: string, safe = '/'): string {
  let out = '';
  for (const byte of new TextEncoder().encode(s)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(ch) || (byte < 128 && safe.includes(ch)) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** urlencode()'s quote_plus: nothing safe, a space is '+'. */
const quotePlus = (s: string) => pyQuote(s, '').replace(/%20/g, '+');

/** tornado.httputil.url_concat with a dict: keys in insertion order, urlencode()d. */
function urlConcat(url: string, params: Record<string, string>): string {
  const q = Object.entries(params).map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`);
  return q.length ? `${url}${url.includes('?') ? '&' : '?'}${q.join('&')}` : url;
}

// packaging.version.VERSION_PATTERN (PEP 440), which Version() requires or raises InvalidVersion.
const PEP440 = /^\s*v?(?:(?:(\d+)!)?(\d+(?:\.\d+)*)([-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?\d*)?((?:-\d+)|(?:[-_.]?(?:post|rev|r)[-_.]?\d*))?([-_.]?dev[-_.]?\d*)?)(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$/i;

/** V(version) >= V("1.3.0"), raising on a version that is not PEP 440 as the culler does. */
export function atLeast130(version: unknown): boolean {
  const m = typeof version === 'string' ? PEP440.exec(version) : null;
  if (!m) throw new Error(`packaging.version.InvalidVersion: Invalid version: '${String(version)}'`);
  if (Number(m[1] ?? 0) > 0) return true;
  const release = m[2]!.split('.').map(Number);
  const min = [1, 3, 0];
  for (let i = 0; i < Math.max(release.length, 3); i++) {
    const a = release[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  // Equal release: a pre- or dev-release of 1.3.0 sorts before it; a post-release after.
  return !((m[3] || m[5]) && !m[4]);
}

/** dateutil.parser.parse, naive → UTC (the hub sends ISO 8601 with Z). */
const parseDate = (s: string) => new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);

export async function cullIdle(o: CullerOptions): Promise<CullerRun> {
  const run: CullerRun = { requests: [], errors: [], warnings: [] };
  const concurrency = o.concurrency ?? 10;
  const cullAdminUsers = o.cullAdminUsers ?? true;
  const cullDefault = o.cullDefaultServers ?? true;
  const cullNamed = o.cullNamedServers ?? true;
  const maxAge = o.maxAge ?? 0;
  const authHeader = { Authorization: `token ${o.apiToken}` };

  // asyncio.Semaphore(concurrency) around every fetch.
  let active = 0;
  const waiting: (() => void)[] = [];
  async function fetch(method: string, url: string, headers: Record<string, string>, body?: string): Promise<{ code: number; json: () => unknown }> {
    if (concurrency) {
      while (active >= concurrency) await new Promise<void>((r) => waiting.push(r));
      active++;
    }
    try {
      // tornado sends a DELETE body as bytes with no Content-Type of its own.
      const res = await o.fetch(url, { method, headers, ...(body !== undefined ? { body: new TextEncoder().encode(body) } : {}) });
      const text = await res.text();
      run.requests.push({ method, url, status: res.status, body, accept: headers.Accept });
      if (res.status < 200 || res.status >= 300) throw new HTTPError(`HTTP ${res.status}: ${text}`);
      return { code: res.status, json: () => JSON.parse(text) };
    } finally {
      if (concurrency) { active--; waiting.shift()?.(); }
    }
  }

  /** fetch_paginated: follows _pagination.next.url verbatim until it is null. */
  async function fetchPaginated(url: string): Promise<Json[]> {
    const headers = { ...authHeader, Accept: 'application/jupyterhub-pagination+json' };
    const out: Json[] = [];
    let next: string | null = url;
    while (next) {
      const model = (await fetch('GET', next, headers)).json() as Json[] | { items: Json[]; _pagination: { next: { url: string } | null } };
      next = null;
      if (Array.isArray(model)) out.push(...model);
      else {
        out.push(...model.items);
        if (model._pagination.next) next = model._pagination.next.url;
      }
    }
    return out;
  }

  const root = (await fetch('GET', `${o.url}/`, authHeader)).json() as Json;
  const stateFilter = atLeast130(root.version);
  const now = (o.now ?? (() => new Date()))();
  const since = (iso: string) => (now.getTime() - parseDate(iso).getTime()) / 1000;

  async function handleServer(user: Json, serverName: string, server: Json): Promise<boolean> {
    const logName = serverName ? `${user.name}/${serverName}` : String(user.name);
    if (server.pending) {
      run.warnings.push(`Not culling server ${logName} with pending ${server.pending}`);
      return false;
    }
    // server.get("ready", bool(server["url"])): the default is evaluated first, so "url" must exist.
    if (!('url' in server)) throw new Error(`KeyError: 'url' (server ${logName})`);
    const ready = 'ready' in server ? server.ready : Boolean(server.url);
    if (!ready) {
      run.warnings.push(`Not culling not-ready not-pending server ${logName}`);
      return false;
    }
    const age = server.started ? since(server.started as string) : null;
    const inactive = server.last_activity ? since(server.last_activity as string) : age;
    let shouldCull = inactive !== null && inactive >= o.inactiveLimit
      && ((cullDefault && serverName === '') || (cullNamed && serverName !== ''));
    if (maxAge && !shouldCull && age !== null && age >= maxAge) shouldCull = true;
    if (!shouldCull) return false;

    let body: string | undefined;
    let deleteUrl: string;
    if (serverName) {
      deleteUrl = `${o.url}/users/${pyQuote(String(user.name))}/servers/${pyQuote(String(server.name))}`;
      if (o.removeNamedServers) body = JSON.stringify({ remove: true }).replace(':', ': '); // json.dumps spacing
    } else {
      deleteUrl = `${o.url}/users/${pyQuote(String(user.name))}/server`;
    }
    const resp = await fetch('DELETE', deleteUrl, authHeader, body);
    if (resp.code === 202) {
      run.warnings.push(`Server ${logName} is slow to stop`);
      return false;
    }
    return true;
  }

  async function handleUser(user: Json): Promise<boolean | undefined> {
    let servers: Record<string, Json>;
    if ('servers' in user) servers = user.servers as Record<string, Json>;
    else {
      servers = {};
      if (user.server) servers[''] = { last_activity: user.last_activity, pending: user.pending, url: user.server };
    }
    const results = await Promise.all(Object.entries(servers).map(([name, s]) => handleServer(user, name, s)));
    if (!o.cullUsers) return undefined;
    if (results.length - results.filter(Boolean).length) return false; // servers still alive
    const age = user.created ? since(user.created as string) : null;
    const inactive = user.last_activity ? since(user.last_activity as string) : age;
    let shouldCull = inactive !== null && inactive >= o.inactiveLimit && (cullAdminUsers || !user.admin);
    if (maxAge && !shouldCull && age !== null && age >= maxAge) shouldCull = true;
    if (!shouldCull) return false;
    await fetch('DELETE', `${o.url}/users/${String(user.name)}`, authHeader); // not quoted, as in the culler
    return true;
  }

  // Coroutines created while listing, awaited one by one afterwards.
  const futures: [string, () => Promise<boolean | undefined>][] = [];
  const params: Record<string, string> = {};
  if (o.apiPageSize) params.limit = String(o.apiPageSize);
  const usersUrl = `${o.url}/users`;
  if (stateFilter && o.cullUsers) {
    for (const user of await fetchPaginated(urlConcat(usersUrl, { state: 'inactive', ...params }))) futures.push([String(user.name), () => handleUser(user)]);
  }
  if (stateFilter) params.state = 'ready';
  for (const user of await fetchPaginated(urlConcat(usersUrl, params))) futures.push([String(user.name), () => handleUser(user)]);

  for (const [name, f] of futures) {
    try {
      await f();
    } catch (err) {
      run.errors.push({ user: name, error: String(err) });
    }
  }
  return run;
}
