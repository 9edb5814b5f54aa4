// GitHubOAuthenticator: sign in with GitHub (or GitHub Enterprise Server through base_url). The
// user is /user's `login`; their organisations (and "org:team" teams) are their groups, read from
// /user/orgs and /user/teams page by page; allowed_organizations entries ("org" or "org:team")
// make `allowed` true when one matches.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Claims, type RedirectProvider, type ProviderDeps } from '../types.ts';
import { apiGet, apiGetAll, codeClient, forgeProvider, insecureUrlProblem, tokenAuthState, type TokenSet } from '../oauth2-code.ts';
import type { githubConfig } from './config.ts';

type Entry = z.infer<typeof githubConfig>;

/** Scopes that let a token read org and team membership (read:org, or one that includes it). */
const ORG_SCOPES = ['read:org', 'write:org', 'admin:org', 'user', 'repo'];
const EMAIL_SCOPES = ['user', 'user:email'];

/** api_url, else api.github.com for github.com and <base_url>/api/v3 for GitHub Enterprise Server. */
export function githubApiUrl(entry: Pick<Entry, 'base_url' | 'api_url'>): string {
  const base = entry.base_url.replace(/\/+$/, '');
  return (entry.api_url ?? (base === 'https://github.com' ? 'https://api.github.com' : `${base}/api/v3`)).replace(/\/+$/, '');
}

/**
 * The scopes asked for: the configured ones, plus read:org when membership decides anything
 * (allowed_organizations, or the hub's allowed/admin groups) — without it GitHub lists no orgs.
 */
export function githubScope(entry: Pick<Entry, 'scope' | 'allowed_organizations'>, auth?: Pick<Config['auth'], 'allowed_groups' | 'admin_groups'>): string[] {
  const scope = [...entry.scope];
  const needsOrgs = entry.allowed_organizations.length > 0 || (auth?.allowed_groups.length ?? 0) > 0 || (auth?.admin_groups.length ?? 0) > 0;
  if (needsOrgs && !scope.some((s) => ORG_SCOPES.includes(s))) scope.push('read:org');
  return scope;
}

interface Rule { org: string; team?: string }

/** "org" or "org:team-slug", compared without case (GitHub's logins and slugs are case-insensitive). */
export function parseOrgRule(text: string): Rule {
  const [org = '', team] = text.trim().toLowerCase().split(':', 2);
  return team ? { org, team } : { org };
}

interface Team { org: string; slug: string }

function teamOf(raw: unknown): Team | undefined {
  const t = raw as { slug?: unknown; organization?: { login?: unknown } };
  return typeof t?.slug === 'string' && typeof t.organization?.login === 'string' ? { org: t.organization.login, slug: t.slug } : undefined;
}

export function githubProvider(entry: Entry, config: Config, deps: ProviderDeps): RedirectProvider {
  const name = entry.name ?? 'github';
  const label = entry.label ?? 'Sign in with GitHub';
  const base = entry.base_url.replace(/\/+$/, '');
  const api = githubApiUrl(entry);
  const problem = insecureUrlProblem(base, entry.allow_insecure_http) ?? insecureUrlProblem(api, entry.allow_insecure_http);
  const rules = entry.allowed_organizations.map(parseOrgRule);
  const scope = githubScope(entry, config.auth);
  const client = codeClient({
    label, deps, authorizeUrl: `${base}/login/oauth/authorize`, tokenUrl: `${base}/login/oauth/access_token`,
    clientId: entry.client_id, clientSecret: entry.client_secret, errorsWith200: true,
  });

  /** Who the token belongs to, their orgs and teams; raw API errors (ForgeHttpError) propagate. */
  async function identity(tokens: TokenSet): Promise<Claims> {
    const o = { deps, token: tokens.access_token, headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' } };
    const user = (await apiGet(`${api}/user`, o)).body as Record<string, unknown> | undefined;
    if (!user || typeof user.login !== 'string' || !user.login) throw new LoginError('failed', `${label}: GitHub did not say who you are`, { detail: '/user has no login' });
    const granted = (list: string[]) => tokens.scope.some((s) => list.includes(s));
    if (!user.email && granted(EMAIL_SCOPES)) {
      // a private address is only in /user/emails
      const emails = (await apiGet(`${api}/user/emails`, o)).body;
      const primary = Array.isArray(emails) ? emails.find((e) => e?.primary && e?.verified && typeof e.email === 'string') : undefined;
      if (primary) user.email = primary.email;
    }
    const readOrgs = granted(ORG_SCOPES);
    if (!readOrgs && (rules.length || entry.teams_as_groups)) deps.log.debug('github token cannot read org membership (no read:org scope)', { provider: name, user: user.login });
    const orgs = readOrgs ? (await apiGetAll(`${api}/user/orgs?per_page=100`, o)).map((x) => (x as { login?: unknown })?.login).filter((x): x is string => typeof x === 'string') : [];
    const wantTeams = readOrgs && (entry.teams_as_groups || rules.some((r) => r.team));
    const rawTeams = wantTeams ? await apiGetAll(`${api}/user/teams?per_page=100`, o) : [];
    const teams = rawTeams.map(teamOf).filter((t): t is Team => !!t);
    const matched = rules.some((r) =>
      r.team
        ? teams.some((t) => t.org.toLowerCase() === r.org && t.slug.toLowerCase() === r.team)
        : orgs.some((g) => g.toLowerCase() === r.org),
    );
    if (rules.length && !matched) deps.log.info('github user is in none of allowed_organizations', { provider: name, user: user.login });
    return {
      name: user.login,
      // without read:org GitHub says nothing about membership, so membership is left as it is
      groups: readOrgs ? [...orgs, ...(entry.teams_as_groups ? teams.map((t) => `${t.org}:${t.slug}`) : [])] : undefined,
      ...(rules.length ? { allowed: matched } : {}),
      authState: {
        ...tokenAuthState(tokens),
        github_user: user,
        ...(entry.teams_as_groups && wantTeams ? { teams: rawTeams } : {}),
      },
    };
  }

  return forgeProvider({ kind: 'github', name, label, forge: 'GitHub', deps, problem, client, scope, identity });
}
