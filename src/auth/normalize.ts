// Username normalisation, in one place (Authenticator.normalize_username + username_map): every
// provider's name passes here before any rule or row sees it, so "Alice" and "alice" are one account.
import { validUserName } from '../names.ts';

/** The Berth name for a provider's name, or undefined when it cannot be one (empty, slashes, spaces…). */
export function normalizeLogin(raw: string, usernameMap: Record<string, string> = {}): string | undefined {
  const lower = raw.trim().toLowerCase();
  const name = (usernameMap[lower] ?? usernameMap[raw.trim()] ?? lower).toLowerCase();
  return validUserName(name) ? name : undefined;
}

/**
 * The Berth name for what a provider entry reports: normalised, mapped, then that entry's
 * username_prefix. The one place a final name is made (the policy, and the shared password's
 * "is this an admin name?" check, must agree on it).
 */
export function finalName(auth: { username_map: Record<string, string> }, entry: { username_prefix: string }, raw: string): string | undefined {
  const base = normalizeLogin(raw, auth.username_map);
  return base && normalizeLogin(entry.username_prefix + base);
}

/** Is `name` (normalised) in a configured list (compared normalised too)? */
export const listed = (list: readonly string[], name: string) => list.some((n) => n.toLowerCase() === name);
