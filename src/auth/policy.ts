// The access policy, applied once to what any provider says (design §7): blocked users never log
// in; admins are admin_users and members of admin_groups; anyone else needs an allow rule to match
// (allow_all, allowed_users, allowed_groups, or the provider's own rule). Fails closed: a provider
// that vouches for someone without any rule matching does not let them in.
import type { Config } from '../config/schema.ts';
import type { Claims } from './providers/types.ts';
import { finalName, listed } from './normalize.ts';

type Auth = Config['auth'];
type Entry = Auth['providers'][number];

export type Decision =
  | {
      ok: true;
      name: string;
      /** true/false: set the user's admin flag; undefined: leave it (it may have been granted by the API). */
      admin: boolean | undefined;
      /** The user's groups after this login; undefined when the provider does not manage groups. */
      groups: string[] | undefined;
    }
  | { ok: false; name: string | undefined; reason: string };

/** Group names as a provider gave them: trimmed, non-empty, at most 255 characters, no control characters, deduplicated. */
export function cleanGroups(groups: readonly string[] | undefined): string[] | undefined {
  if (!groups) return undefined;
  const out = new Set<string>();
  for (const g of groups) {
    const t = typeof g === 'string' ? g.trim() : '';
    if (t && t.length <= 255 && !/[\x00-\x1f\x7f]/.test(t)) out.add(t);
  }
  return [...out].sort();
}

export function decide(auth: Auth, entry: Entry, claims: Claims): Decision {
  const name = finalName(auth, entry, claims.name);
  if (!name) return { ok: false, name: undefined, reason: 'the provider gave a user name Berth cannot use' };
  if (listed(auth.blocked_users, name)) return { ok: false, name, reason: 'blocked' };
  const groups = cleanGroups(claims.groups?.map((g) => (typeof g === 'string' ? entry.group_prefix + g.trim() : g)));
  // group names compare case-insensitively: GitHub keeps an org's case ("My-Org"), admins write it as they like
  const lower = new Set(groups?.map((g) => g.toLowerCase()));
  const inAny = (list: readonly string[]) => !!groups && list.some((g) => lower.has(g.toLowerCase()));
  const isAdmin = claims.admin === true || listed(auth.admin_users ?? [], name) || inAny(auth.admin_groups);
  // With admin_groups set, group membership is the source of truth for admin: leaving the group demotes.
  const admin = isAdmin ? true : auth.admin_groups.length > 0 && groups !== undefined ? false : undefined;
  const allowed = isAdmin || auth.allow_all || entry.allow_all || listed(auth.allowed_users, name) || inAny(auth.allowed_groups) || claims.allowed === true;
  if (!allowed) return { ok: false, name, reason: 'not allowed' };
  return { ok: true, name, admin, groups };
}
