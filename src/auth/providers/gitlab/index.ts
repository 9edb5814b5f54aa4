// GitLabOAuthenticator: sign in with GitLab.com or a self-hosted GitLab (base_url). The user is
// /api/v4/user's `username`; their groups (full paths) come from /api/v4/groups limited to their
// memberships, page by page. allowed_groups matches a group or any of its subgroups;
// allowed_project_ids needs Developer access (30) or more, inherited membership included.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Claims, type RedirectProvider, type ProviderDeps } from '../types.ts';
import { apiGet, apiGetAll, codeClient, forgeProvider, ForgeHttpError, insecureUrlProblem, tokenAuthState, type ApiOptions, type TokenSet } from '../oauth2-code.ts';
import type { gitlabConfig } from './config.ts';

type Entry = z.infer<typeof gitlabConfig>;

/** GitLab's access levels (docs: "Roles and permissions"): Guest 10, Reporter 20, Developer 30. */
const GUEST = 10;
const DEVELOPER = 30;

/** `path` is `allowed` or one of its subgroups ("a/b/c" is in "a" and in "a/b"); paths compare without case. */
export function inGroup(path: string, allowed: string): boolean {
  const p = path.toLowerCase();
  const a = allowed.toLowerCase().replace(/^\/+|\/+$/g, '');
  return p === a || p.startsWith(`${a}/`);
}

export function gitlabProvider(entry: Entry, _config: Config, deps: ProviderDeps): RedirectProvider {
  const name = entry.name ?? 'gitlab';
  const label = entry.label ?? 'Sign in with GitLab';
  const base = entry.base_url.replace(/\/+$/, '');
  const api = `${base}/api/v4`;
  const problem = insecureUrlProblem(base, entry.allow_insecure_http);
  const hasRules = entry.allowed_groups.length > 0 || entry.allowed_project_ids.length > 0;
  const client = codeClient({ label, deps, authorizeUrl: `${base}/oauth/authorize`, tokenUrl: `${base}/oauth/token`, clientId: entry.client_id, clientSecret: entry.client_secret });

  /** The user's access level in a project (inherited from groups included); 0 when not a member. */
  async function projectAccess(projectId: number, userId: number, o: ApiOptions): Promise<number> {
    try {
      const member = (await apiGet(`${api}/projects/${projectId}/members/all/${userId}`, o)).body as { access_level?: unknown } | undefined;
      return typeof member?.access_level === 'number' ? member.access_level : 0;
    } catch (err) {
      // 404: not a member, or a project this user cannot see
      if (err instanceof ForgeHttpError && err.status === 404) return 0;
      throw err;
    }
  }

  async function identity(tokens: TokenSet): Promise<Claims> {
    const o = { deps, token: tokens.access_token };
    const user = (await apiGet(`${api}/user`, o)).body as Record<string, unknown> | undefined;
    if (!user || typeof user.username !== 'string' || !user.username || typeof user.id !== 'number') {
      throw new LoginError('failed', `${label}: GitLab did not say who you are`, { detail: '/api/v4/user has no username or id' });
    }
    // min_access_level: only groups the user is a member of (directly or from a parent group);
    // without it GitLab lists every group the user can see, public ones included
    let groups: string[] | undefined;
    try {
      const raw = await apiGetAll(`${api}/groups?min_access_level=${GUEST}&per_page=100`, o);
      groups = raw.map((g) => (g as { full_path?: unknown })?.full_path).filter((p): p is string => typeof p === 'string' && p !== '');
    } catch (err) {
      // a token without read_api may not list groups: fatal only when groups decide who gets in
      if (!(err instanceof ForgeHttpError && err.status === 403) || entry.allowed_groups.length) throw err;
      deps.log.warn('gitlab token cannot list groups (scope needs read_api); group membership left as it is', { provider: name, user: user.username });
    }
    let allowed = entry.allowed_groups.some((a) => groups?.some((g) => inGroup(g, a)));
    for (const id of entry.allowed_project_ids) {
      if (allowed) break;
      allowed = (await projectAccess(id, user.id, o)) >= DEVELOPER;
    }
    if (hasRules && !allowed) deps.log.info('gitlab user matches none of allowed_groups / allowed_project_ids', { provider: name, user: user.username });
    return {
      name: user.username,
      groups,
      ...(hasRules ? { allowed } : {}),
      authState: {
        ...tokenAuthState(tokens),
        gitlab_user: user,
      },
    };
  }

  return forgeProvider({ kind: 'gitlab', name, label, forge: 'GitLab', deps, problem, client, scope: entry.scope, identity });
}
