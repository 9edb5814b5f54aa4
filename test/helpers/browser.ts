// A tiny HTTP "browser" for end-to-end tests: a cookie jar honouring Path, manual redirects with a
// bounded count, and the XSRF token the hub pages and the notebook server expect.
export interface Cookie { name: string; value: string; path: string }

export class CookieJar {
  private cookies: Cookie[] = [];

  store(setCookies: string[], requestPath: string) {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      let value = pair!.slice(eq + 1);
      if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      let path = requestPath.replace(/[^/]*$/, '') || '/';
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        if (k!.toLowerCase() === 'path') path = v;
        if (k!.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k!.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path));
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  header(path: string): string {
    return this.cookies
      .filter((c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : c.path + '/') || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  get(name: string, path?: string): string | undefined {
    return this.cookies.find((c) => c.name === name && (path === undefined || c.path === path))?.value;
  }

  /** Forgets a cookie by name, whatever its path (a test playing a browser that lost it). */
  delete(name: string) {
    this.cookies = this.cookies.filter((c) => c.name !== name);
  }

  get size(): number {
    return this.cookies.length;
  }
}

export interface Hop { status: number; url: string; location?: string | undefined }

export class Browser {
  readonly jar = new CookieJar();
  constructor(readonly origin: string) {}

  /** One request, no redirect following. */
  async raw(path: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(path, this.origin);
    const headers = new Headers(init.headers);
    const cookie = this.jar.header(url.pathname);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.jar.store(res.headers.getSetCookie(), url.pathname);
    return res;
  }

  /** Follows redirects (at most `max`), returning the final response and every hop. */
  async go(path: string, init: RequestInit = {}, max = 12): Promise<{ res: Response; hops: Hop[] }> {
    const hops: Hop[] = [];
    let res = await this.raw(path, init);
    let url = new URL(path, this.origin).toString();
    while (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      const location = res.headers.get('location')!;
      hops.push({ status: res.status, url, location });
      if (hops.length > max) throw new Error(`redirect loop: ${hops.map((h) => `${h.status} ${h.url}`).join(' → ')}`);
      await res.arrayBuffer();
      url = new URL(location, url).toString();
      res = await this.raw(url, { method: res.status === 307 || res.status === 308 ? init.method : 'GET', headers: init.headers });
    }
    hops.push({ status: res.status, url });
    return { res, hops };
  }

  /** Logs in through the hub's form, as a person would: GET the form (XSRF), POST username/password. */
  async login(user: string, password: string): Promise<Response> {
    const form = await this.raw('/hub/login');
    const html = await form.text();
    const xsrf = /name="_xsrf"\s+value="([^"]+)"/.exec(html)?.[1] ?? /value="([^"]+)"\s+name="_xsrf"/.exec(html)?.[1] ?? '';
    const body = new URLSearchParams({ username: user, password, _xsrf: xsrf });
    return this.raw('/hub/login', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}
