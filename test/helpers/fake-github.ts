// A fake GitHub on 127.0.0.1: the OAuth app endpoints (authorize, access_token) and the REST API
// calls Berth makes (/user, /user/emails, /user/orgs, /user/teams), served both at the root (as
// api.github.com) and under /api/v3 (as GitHub Enterprise Server). It checks what GitHub checks:
// the client id and secret, the redirect URI, a code used once, the PKCE verifier, the token on
// every API call, the scopes a list needs, a User-Agent; it pages lists with Link headers at a
// small page size, and answers token errors GitHub's way (200 with an `error` member).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

export interface FakeGitHubUser {
  login: string;
  id: number;
  name?: string;
  /** The public address on /user (null: private, only in /user/emails). */
  email?: string | null;
  emails?: { email: string; primary: boolean; verified: boolean }[];
  orgs?: string[];
  /** "org:team-slug". */
  teams?: string[];
}

export interface FakeGitHubOptions {
  clientId: string;
  clientSecret: string;
  /** The OAuth app's registered callback URL. */
  redirectUri: string;
  users: FakeGitHubUser[];
  /** The largest page the fake serves, whatever per_page asks (GitHub's is 100). */
  maxPerPage?: number;
}

// ---- small pieces fake-gitlab.ts uses too ----

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The form (or JSON) body of a token request. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const text = await readBody(req);
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    return new URLSearchParams(Object.entries(JSON.parse(text || '{}') as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)]));
  }
  return new URLSearchParams(text);
}

/** client_id / client_secret from the body or from HTTP Basic. */
export function clientCredentials(req: IncomingMessage, form: URLSearchParams): { id?: string; secret?: string } {
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map(decodeURIComponent);
    return { id, secret };
  }
  return { id: form.get('client_id') ?? undefined, secret: form.get('client_secret') ?? undefined };
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)) equals the challenge. */
export const pkceMatches = (verifier: string | null, challenge: string) =>
  !!verifier && createHash('sha256').update(verifier).digest('base64url') === challenge;

export const newSecret = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** `items` cut to page `page` of `per`, with Link first/prev/next/last as GitHub and GitLab send them. */
export function paged<T>(url: URL, items: T[], maxPerPage: number) {
  const per = Math.max(1, Math.min(Number(url.searchParams.get('per_page') ?? 20) || 20, maxPerPage));
  const pages = Math.max(1, Math.ceil(items.length / per));
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  const at = (p: number) => {
    const u = new URL(url);
    u.searchParams.set('per_page', String(per));
    u.searchParams.set('page', String(p));
    return u.href;
  };
  const links = [...(page > 1 ? [`<${at(page - 1)}>; rel="prev"`, `<${at(1)}>; rel="first"`] : []), ...(page < pages ? [`<${at(page + 1)}>; rel="next"`, `<${at(pages)}>; rel="last"`] : [])];
  return { items: items.slice((page - 1) * per, page * per), page, per, pages, link: links.join(', ') };
}

// ---- the fake ----

const ORG_SCOPES = ['read:org', 'write:org', 'admin:org', 'user', 'repo'];

export async function startFakeGitHub(opts: FakeGitHubOptions) {
  const maxPerPage = opts.maxPerPage ?? 2;
  const codes = new Map<string, { login: string; redirectUri: string; scope: string[]; challenge?: string }>();
  const tokens = new Map<string, { login: string; scope: string[] }>();
  /** Every request, as "METHOD /path?query" (API paths without the /api/v3 prefix). */
  const requests: string[] = [];
  let signedIn: string | undefined;
  let denyNext = false;
  let tokenEndpoint: 'ok' | 'down' | 'garbage' = 'ok';

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    try {
      if (url.pathname === '/login/oauth/authorize' && req.method === 'GET') return authorize(url, res);
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') return await accessToken(req, res);
      const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
      requests.push(`${req.method} ${path}${url.search}`);
      return api(req, url, path, res);
    } catch (err) {
      send(res, 500, `<h1>500</h1><p>${String(err)}</p>`);
    }
  });
  const base = await listen(server);

  function authorize(url: URL, res: ServerResponse) {
    requests.push(`GET /login/oauth/authorize${url.search}`);
    const q = url.searchParams;
    if (q.get('client_id') !== opts.clientId) return send(res, 404, '<h1>404</h1><p>The OAuth application was not found.</p>');
    const state = q.get('state');
    const back = (params: Record<string, string>) => {
      const to = new URL(opts.redirectUri);
      for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
      if (state !== null) to.searchParams.set('state', state);
      res.writeHead(302, { location: to.href }).end();
    };
    if (q.get('redirect_uri') !== null && q.get('redirect_uri') !== opts.redirectUri) {
      return back({ error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.' });
    }
    const challenge = q.get('code_challenge') ?? undefined;
    if (challenge && q.get('code_challenge_method') !== 'S256') return back({ error: 'invalid_request', error_description: 'code_challenge_method must be S256' });
    if (!signedIn) return send(res, 200, '<h1>Sign in to GitHub</h1>');
    if (denyNext) {
      denyNext = false;
      return back({ error: 'access_denied', error_description: 'The user has denied your application access.' });
    }
    const code = newSecret('');
    const scope = (q.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
    codes.set(code, { login: signedIn, redirectUri: q.get('redirect_uri') ?? opts.redirectUri, scope, ...(challenge ? { challenge } : {}) });
    back({ code });
  }

  async function accessToken(req: IncomingMessage, res: ServerResponse) {
    requests.push('POST /login/oauth/access_token');
    if (tokenEndpoint === 'down') return send(res, 500, '<h1>500 Internal Server Error</h1>');
    if (tokenEndpoint === 'garbage') return send(res, 200, '<html><body>Unicorn!</body></html>');
    const form = await readForm(req);
    const wantsJson = (req.headers.accept ?? '').includes('json');
    // GitHub's way: errors are 200 answers with an `error` member (form-encoded unless JSON is asked for)
    const answer = (body: Record<string, string>) =>
      wantsJson ? send(res, 200, body) : send(res, 200, new URLSearchParams(body).toString(), { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    const client = clientCredentials(req, form);
    if (client.id !== opts.clientId || client.secret !== opts.clientSecret) {
      return answer({ error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' });
    }
    const code = form.get('code') ?? '';
    const grant = codes.get(code);
    codes.delete(code); // once only, whatever happens next
    if (!grant) return answer({ error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
    if (form.get('redirect_uri') !== null && form.get('redirect_uri') !== grant.redirectUri) {
      return answer({ error: 'redirect_uri_mismatch', error_description: 'The redirect_uri MUST match the registered callback URL for this application.' });
    }
    if (grant.challenge && !pkceMatches(form.get('code_verifier'), grant.challenge)) {
      return answer({ error: 'bad_verification_code', error_description: 'The code_verifier does not match the code_challenge.' });
    }
    const token = newSecret('gho_');
    tokens.set(token, { login: grant.login, scope: grant.scope });
    answer({ access_token: token, token_type: 'bearer', scope: grant.scope.join(',') });
  }

  function api(req: IncomingMessage, url: URL, path: string, res: ServerResponse) {
    if (!req.headers['user-agent']) return send(res, 403, 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.');
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return send(res, 401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
    const grant = tokens.get(m[1]!);
    if (!grant) return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const user = opts.users.find((u) => u.login === grant.login)!;
    const scopes = { 'x-oauth-scopes': grant.scope.join(', ') };
    const has = (list: string[]) => grant.scope.some((s) => list.includes(s));
    const list = (items: unknown[]) => {
      const p = paged(url, items, maxPerPage);
      send(res, 200, p.items, { ...scopes, ...(p.link ? { link: p.link } : {}) });
    };
    if (req.method !== 'GET') return send(res, 404, { message: 'Not Found' });
    switch (path) {
      case '/user':
        return send(res, 200, { login: user.login, id: user.id, name: user.name ?? null, email: user.email ?? null, type: 'User', site_admin: false }, scopes);
      case '/user/emails':
        if (!has(['user', 'user:email'])) return send(res, 404, { message: 'Not Found' });
        return list(user.emails ?? []);
      case '/user/orgs':
        if (!has(ORG_SCOPES)) return send(res, 403, { message: 'You need at least read:org scope or user scope to list your organizations.' }, scopes);
        return list((user.orgs ?? []).map((login, i) => ({ login, id: 1000 + i, url: `${base}/api/v3/orgs/${login}` })));
      case '/user/teams':
        if (!has(ORG_SCOPES)) return send(res, 403, { message: 'You need at least read:org scope to list your teams.' }, scopes);
        return list((user.teams ?? []).map((t, i) => {
          const [org, slug] = t.split(':');
          return { id: 2000 + i, slug, name: slug!.toUpperCase(), organization: { login: org, id: 1 } };
        }));
      default:
        return send(res, 404, { message: 'Not Found' });
    }
  }

  return {
    /** base_url (and api_url as api.github.com: the root; as GitHub Enterprise: /api/v3). */
    url: base,
    requests,
    /** The person signed in at GitHub when the browser arrives at /login/oauth/authorize. */
    signIn(login: string) { signedIn = login; },
    /** The next authorize answers access_denied (the person clicked "Cancel"). */
    denyNext() { denyNext = true; },
    tokenEndpoint(mode: 'ok' | 'down' | 'garbage') { tokenEndpoint = mode; },
    /** Tokens issued so far (a test checks none leaks into a page or a log). */
    issuedTokens: () => [...tokens.keys()],
    /** Codes not yet exchanged expire (GitHub's live ten minutes). */
    expireCodes() { codes.clear(); },
    /** Revokes every token (the person revoked the OAuth app). */
    revokeAll() { tokens.clear(); },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export type FakeGitHub = Awaited<ReturnType<typeof startFakeGitHub>>;
