// openid-client (with jose and oauth4webapi), loaded at the first sign-in through a provider built
// on it — oidc, github, gitlab — rather than when Berth starts: most sites use one login, often the
// shared password or LDAP, and an idle `berth serve` need not hold it. ESM only, so the load is async;
// every entry point of those providers awaits it before anything else.
import type * as OpenId from 'openid-client';

export type { OpenId };

let lib: typeof OpenId | undefined;
let loading: Promise<typeof OpenId> | undefined;

export async function openidClient(): Promise<typeof OpenId> {
  loading ??= import('openid-client').then((m) => (lib = m));
  return loading;
}

/** The library when something loaded it already: an error of its classes can only exist after that. */
export function openidClientLoaded(): typeof OpenId | undefined {
  return lib;
}
