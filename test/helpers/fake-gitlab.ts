// A fake GitLab on 127.0.0.1: the OAuth endpoints (/oauth/authorize, /oauth/token with the
// authorization_code and refresh_token grants, refresh tokens rotated) and the API v4 calls Berth
// makes (/user, /groups, /projects/:id/members/all/:user_id). It checks what GitLab checks: client
// credentials, the redirect URI, a code used once, the PKCE verifier, the bearer token and its
// expiry, the scopes; it pages /groups with X-Next-Page and Link at a small page size; membership
// is inherited down the group tree, and /groups without min_access_level shows every group an
// admin can see (so a client that forgets it would let admins match any group).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { clientCredentials, listen, newSecret, paged, pkceMatches, readForm, send } from './fake-github.ts';

export interface FakeGitLabUser { id: number; username: string; name?: string; email?: string; is_admin?: boolean }
export interface FakeGitLabGroup {
  id: number;
  /** "a/b/c": the parent is "a/b". */
  full_path: string;
  visibility?: 'public' | 'private';
  /** username → access level (10 Guest, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner). */
  members?: Record<string, number>;
}
export interface FakeGitLabProject { id: number; /** full path of the group that owns it */ namespace?: string; members?: Record<string, number> }

export interface FakeGitLabOptions {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  users: FakeGitLabUser[];
  groups?: FakeGitLabGroup[];
  projects?: FakeGitLabProject[];
  maxPerPage?: number;
}

const READ_USER = ['read_user', 'read_api', 'api'];
const READ_API = ['read_api', 'api'];

export async function startFakeGitLab(opts: FakeGitLabOptions) {
  const maxPerPage = opts.maxPerPage ?? 2;
  const groups = opts.groups ?? [];
  const projects = opts.projects ?? [];
  const codes = new Map<string, { username: string; redirectUri: string; scope: string[]; challenge?: string }>();
  const access = new Map<string, { username: string; scope: string[]; expired: boolean }>();
  const refresh = new Map<string, { username: string; scope: string[] }>();
  const requests: string[] = [];
  let signedIn: string | undefined;
  let denyNext = false;

  /** The user's level in a group: the highest of their memberships in it and in its ancestors. */
  const groupLevel = (username: string, fullPath: string) => {
    let level = 0;
    for (const g of groups) if (fullPath === g.full_path || fullPath.startsWith(`${g.full_path}/`)) level = Math.max(level, g.members?.[username] ?? 0);
    return level;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    try {
      if (url.pathname === '/oauth/authorize' && req.method === 'GET') return authorize(url, res);
      if (url.pathname === '/oauth/token' && req.method === 'POST') return await token(req, res);
      if (url.pathname.startsWith('/api/v4/') && req.method === 'GET') return api(req, url, res);
      send(res, 404, { message: '404 Not found' });
    } catch (err) {
      send(res, 500, `<h1>500</h1><p>${String(err)}</p>`);
    }
  });
  const base = await listen(server);

  function authorize(url: URL, res: ServerResponse) {
    const q = url.searchParams;
    // Doorkeeper shows an error page (no redirect) for an unknown client or a foreign redirect URI
    if (q.get('client_id') !== opts.clientId) return send(res, 200, '<h1>An error has occurred</h1><p>Client authentication failed due to unknown client.</p>');
    if (q.get('redirect_uri') !== opts.redirectUri) return send(res, 200, '<h1>An error has occurred</h1><p>The redirect URI included is not valid.</p>');
    const back = (params: Record<string, string>) => {
      const to = new URL(opts.redirectUri);
      for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
      if (q.get('state') !== null) to.searchParams.set('state', q.get('state')!);
      res.writeHead(302, { location: to.href }).end();
    };
    if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type', error_description: 'The authorization server does not support this response type.' });
    const challenge = q.get('code_challenge') ?? undefined;
    if (challenge && q.get('code_challenge_method') !== 'S256') return back({ error: 'invalid_request', error_description: 'Code challenge method must be S256.' });
    if (!signedIn) return send(res, 200, '<h1>Sign in</h1>');
    if (denyNext) {
      denyNext = false;
      return back({ error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.' });
    }
    const code = newSecret('');
    codes.set(code, { username: signedIn, redirectUri: opts.redirectUri, scope: (q.get('scope') ?? 'read_user').split(' ').filter(Boolean), ...(challenge ? { challenge } : {}) });
    back({ code });
  }

  function issue(res: ServerResponse, username: string, scope: string[]) {
    const access_token = newSecret('glpat-');
    const refresh_token = newSecret('glrt-');
    access.set(access_token, { username, scope, expired: false });
    refresh.set(refresh_token, { username, scope });
    send(res, 200, { access_token, token_type: 'Bearer', expires_in: 7200, refresh_token, scope: scope.join(' '), created_at: Math.floor(Date.now() / 1000) });
  }

  async function token(req: IncomingMessage, res: ServerResponse) {
    const form = await readForm(req);
    const client = clientCredentials(req, form);
    if (client.id !== opts.clientId || client.secret !== opts.clientSecret) {
      return send(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.' });
    }
    const invalidGrant = () => send(res, 400, { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.' });
    if (form.get('grant_type') === 'authorization_code') {
      const code = form.get('code') ?? '';
      const grant = codes.get(code);
      codes.delete(code);
      if (!grant || form.get('redirect_uri') !== grant.redirectUri) return invalidGrant();
      if (grant.challenge && !pkceMatches(form.get('code_verifier'), grant.challenge)) return invalidGrant();
      return issue(res, grant.username, grant.scope);
    }
    if (form.get('grant_type') === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      const grant = refresh.get(rt);
      if (!grant) return invalidGrant();
      refresh.delete(rt); // rotated: the old refresh token is spent
      return issue(res, grant.username, grant.scope);
    }
    send(res, 400, { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported by the authorization server.' });
  }

  function api(req: IncomingMessage, url: URL, res: ServerResponse) {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const grant = m ? access.get(m[1]!) : undefined;
    if (!grant) return send(res, 401, { message: '401 Unauthorized' });
    if (grant.expired) return send(res, 401, { error: 'invalid_token', error_description: 'Token is expired. You can either do re-authorization or token refresh.' });
    const user = opts.users.find((u) => u.username === grant.username)!;
    const has = (list: string[]) => grant.scope.some((s) => list.includes(s));
    const insufficient = () => send(res, 403, { error: 'insufficient_scope', error_description: 'The request requires higher privileges than provided by the access token.', scope: 'api read_api' });
    const path = url.pathname.slice('/api/v4'.length);
    if (path === '/user') {
      if (!has(READ_USER)) return insufficient();
      return send(res, 200, { id: user.id, username: user.username, name: user.name ?? user.username, email: user.email ?? null, state: 'active', is_admin: user.is_admin ?? false });
    }
    if (!has(READ_API)) return insufficient();
    if (path === '/groups') {
      const min = Number(url.searchParams.get('min_access_level') ?? 0);
      const visible = groups
        .filter((g) => (min ? groupLevel(user.username, g.full_path) >= min : user.is_admin || g.visibility === 'public' || groupLevel(user.username, g.full_path) > 0))
        .sort((a, b) => a.full_path.localeCompare(b.full_path))
        .map((g) => ({ id: g.id, name: g.full_path.split('/').pop(), path: g.full_path.split('/').pop(), full_path: g.full_path, visibility: g.visibility ?? 'private', parent_id: groups.find((p) => g.full_path.startsWith(`${p.full_path}/`) && !g.full_path.slice(p.full_path.length + 1).includes('/'))?.id ?? null }));
      const p = paged(url, visible, maxPerPage);
      return send(res, 200, p.items, {
        'x-page': String(p.page), 'x-per-page': String(p.per), 'x-total': String(visible.length), 'x-total-pages': String(p.pages),
        'x-next-page': p.page < p.pages ? String(p.page + 1) : '', 'x-prev-page': p.page > 1 ? String(p.page - 1) : '',
        ...(p.link ? { link: p.link } : {}),
      });
    }
    const pm = /^\/projects\/(\d+)\/members\/all\/(\d+)$/.exec(path);
    if (pm) {
      const project = projects.find((p) => p.id === Number(pm[1]));
      const member = opts.users.find((u) => u.id === Number(pm[2]));
      if (!project || !member) return send(res, 404, { message: '404 Not found' });
      const level = Math.max(project.members?.[member.username] ?? 0, project.namespace ? groupLevel(member.username, project.namespace) : 0);
      if (!level) return send(res, 404, { message: '404 Not found' });
      return send(res, 200, { id: member.id, username: member.username, name: member.name ?? member.username, state: 'active', access_level: level });
    }
    send(res, 404, { message: '404 Not found' });
  }

  return {
    url: base,
    requests,
    signIn(username: string) { signedIn = username; },
    denyNext() { denyNext = true; },
    /** Every access token issued so far now answers 401 invalid_token (two hours passed). */
    expireAccessTokens() { for (const t of access.values()) t.expired = true; },
    issuedTokens: () => [...access.keys(), ...refresh.keys()],
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export type FakeGitLab = Awaited<ReturnType<typeof startFakeGitLab>>;
