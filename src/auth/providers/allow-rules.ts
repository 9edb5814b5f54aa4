// Which allow rules a provider has, for the fail-closed start-up check: a hub whose provider lets
// anyone with an account at GitHub (or in the directory) in must say so with allow_all.
import type { Config } from '../../config/schema.ts';

type ProviderConfig = Config['auth']['providers'][number];

/** The provider's own membership rules (beside the auth-wide allowed_users / allowed_groups). */
export function ownAllowRules(p: ProviderConfig): string[] {
  switch (p.kind) {
    case 'github': return p.allowed_organizations.length ? ['allowed_organizations'] : [];
    case 'gitlab': return [...(p.allowed_groups.length ? ['allowed_groups'] : []), ...(p.allowed_project_ids.length ? ['allowed_project_ids'] : [])];
    case 'ldap': return p.allowed_groups.length ? ['allowed_groups'] : [];
    case 'cas': return Object.keys(p.required_attributes).length ? ['required_attributes'] : [];
    default: return [];
  }
}

/** The provider's id: its `name`, or its kind. */
export const providerName = (p: ProviderConfig) => p.name ?? p.kind;

/**
 * Group rules (admin_groups, allowed_groups, a service's access_groups) over groups from several
 * providers need each provider's groups in a namespace of its own: otherwise someone who creates a
 * GitHub organisation named like the directory's admin group becomes an admin.
 */
export function groupNamespaceProblems(config: Pick<Config, 'auth' | 'services'>): string[] {
  const auth = config.auth;
  const rules = auth.admin_groups.length > 0 || auth.allowed_groups.length > 0 || config.services.some((s) => (s as { access_groups?: string[] }).access_groups?.length);
  if (!rules) return [];
  const byPrefix = new Map<string, string[]>();
  for (const p of auth.providers) {
    if (p.kind === 'shared-password') continue; // reports no groups
    byPrefix.set(p.group_prefix, [...(byPrefix.get(p.group_prefix) ?? []), providerName(p)]);
  }
  return [...byPrefix].filter(([, names]) => names.length > 1).map(([prefix, names]) =>
    `auth.providers: ${names.join(' and ')} report groups into one namespace${prefix ? ` (group_prefix "${prefix}")` : ''} while group rules are set — give each its own group_prefix (e.g. "${names[1]}:") and write the rules with it`);
}

/**
 * One line per provider that would let nobody in (or everybody, were it not refused): delegated
 * providers need an allow rule or an explicit allow_all. The shared password is its own gate.
 */
export function openProviderProblems(auth: Config['auth']): string[] {
  const global = auth.allow_all || auth.allowed_users.length > 0 || auth.allowed_groups.length > 0;
  const out: string[] = [];
  auth.providers.forEach((p, i) => {
    if (p.kind === 'shared-password' || global || p.allow_all || ownAllowRules(p).length) return;
    out.push(
      `auth.providers[${i}] (${p.kind} "${providerName(p)}"): no allow rule, so nobody could log in through it; ` +
        `set auth.allowed_users or auth.allowed_groups${p.kind === 'oidc' ? '' : ` or the provider's ${p.kind === 'github' ? 'allowed_organizations' : p.kind === 'gitlab' ? 'allowed_groups / allowed_project_ids' : p.kind === 'ldap' ? 'allowed_groups' : 'required_attributes'}`}, or allow_all: true to let everyone it authenticates in`,
    );
  });
  return out;
}
