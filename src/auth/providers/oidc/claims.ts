// What the identity provider said about someone (ID-token claims, then the userinfo / userdata
// answer) turned into Berth's claims: the user name from username_claim, the groups from
// groups_claim, and the email_verified rule. Pure functions, so every shape is unit-tested.
import { LoginError, type Claims } from '../types.ts';

type Bag = Record<string, unknown>;

export interface ClaimRules {
  label: string;
  username_claim: string;
  groups_claim?: string | undefined;
  require_email_verified?: boolean | undefined;
}

/**
 * A claim by name: the exact key first (namespaced claims such as "https://example.org/groups"
 * contain dots), then a dotted path into nested objects (Keycloak's "realm_access.roles").
 */
export function claimValue(bag: Bag | undefined, name: string): unknown {
  if (!bag) return undefined;
  if (Object.hasOwn(bag, name)) return bag[name];
  if (!name.includes('.')) return undefined;
  let v: unknown = bag;
  for (const part of name.split('.')) {
    if (!v || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = (v as Bag)[part];
  }
  return v;
}

/** The ID token's claim when it has one (not null), else the userinfo's. */
export function lookup(idClaims: Bag | undefined, userinfo: Bag | undefined, name: string): unknown {
  const v = claimValue(idClaims, name);
  return v === undefined || v === null ? claimValue(userinfo, name) : v;
}

/** Does the username claim (and the email_verified rule) need anything the ID token lacks? */
export function needsUserinfo(idClaims: Bag | undefined, rules: ClaimRules): boolean {
  const missing = (n: string) => { const v = claimValue(idClaims, n); return v === undefined || v === null; };
  return missing(rules.username_claim) || (!!rules.groups_claim && missing(rules.groups_claim)) || (mustVerifyEmail(rules) && missing('email_verified'));
}

/** require_email_verified, defaulting to on when the e-mail address names the account. */
export const mustVerifyEmail = (rules: ClaimRules) => rules.require_email_verified ?? rules.username_claim === 'email';

/**
 * Groups from a groups claim: a list (its strings; anything else in it is dropped), one string
 * (one group), or nothing (no groups: the user's memberships are cleared). Undefined when no
 * groups_claim is configured, so Berth leaves memberships alone.
 */
export function groupsFrom(value: unknown, configured: boolean): string[] | undefined {
  if (!configured) return undefined;
  if (typeof value === 'string') return value ? [value] : [];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return [];
}

/** Berth's claims from the provider's answer. Throws LoginError when it does not name a usable account. */
export function mapClaims(idClaims: Bag | undefined, userinfo: Bag | undefined, rules: ClaimRules): Omit<Claims, 'authState'> {
  const raw = lookup(idClaims, userinfo, rules.username_claim);
  const name = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : '';
  if (!name) {
    const seen = [...new Set([...Object.keys(idClaims ?? {}), ...Object.keys(userinfo ?? {})])].sort().join(', ');
    throw new LoginError('failed', `${rules.label}: the identity provider did not say who you are`, {
      hint: 'Ask the hub administrator to check the provider\'s username_claim.',
      detail: `username_claim "${rules.username_claim}" is missing or not a string; claims present: ${seen || 'none'}`,
    });
  }
  if (mustVerifyEmail(rules)) {
    const verified = lookup(idClaims, userinfo, 'email_verified');
    // true, or the string "true" some providers (Amazon Cognito) send; anything else is unverified
    if (verified !== true && verified !== 'true') {
      throw new LoginError('refused', `${rules.label}: your e-mail address is not verified`, {
        hint: 'Verify your e-mail address with the identity provider, then sign in again.',
        detail: `email_verified is ${JSON.stringify(verified) ?? 'missing'} for ${name}`,
      });
    }
  }
  const groups = groupsFrom(rules.groups_claim ? lookup(idClaims, userinfo, rules.groups_claim) : undefined, !!rules.groups_claim);
  return groups === undefined ? { name } : { name, groups };
}
