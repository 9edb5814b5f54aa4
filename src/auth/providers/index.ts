// The provider registry: builds the configured providers once per config (a reload rebuilds them)
// and finds one by name. Adding a provider: a folder with config.ts (its zod entry, added to the
// union in src/config/schema.ts) and index.ts (a factory returning a FormProvider or RedirectProvider).
import type { Config } from '../../config/schema.ts';
import type { AppContext } from '../../context.ts';
import type { Provider, ProviderDeps } from './types.ts';
import { providerName } from './allow-rules.ts';
import { sharedPasswordProvider } from './shared-password/index.ts';
import { oidcProvider } from './oidc/index.ts';
import { githubProvider } from './github/index.ts';
import { gitlabProvider } from './gitlab/index.ts';
import { ldapProvider } from './ldap/index.ts';
import { casProvider } from './cas/index.ts';

type Entry = Config['auth']['providers'][number];

export function buildProvider(entry: Entry, config: Config, deps: ProviderDeps): Provider {
  switch (entry.kind) {
    case 'shared-password': return sharedPasswordProvider(entry, config);
    case 'oidc': return oidcProvider(entry, config, deps);
    case 'github': return githubProvider(entry, config, deps);
    case 'gitlab': return gitlabProvider(entry, config, deps);
    case 'ldap': return ldapProvider(entry, config, deps);
    case 'cas': return casProvider(entry, config, deps);
  }
}

export interface Providers {
  list: Provider[];
  get(name: string | undefined): Provider | undefined;
  /** The config entry a provider was built from (its allow_all and name). */
  entry(name: string): Entry | undefined;
}

const built = new WeakMap<Config, Providers>();

/** Puts ready-made providers in place of the config's (unit tests of the login handlers use a fake one). */
export function useProviders(config: Config, list: Provider[]) {
  built.set(config, { list, get: (n) => list.find((x) => x.name === n), entry: (n) => config.auth.providers.find((e) => providerName(e) === n) });
}

/** The providers of the config in force (built at first use after a start or reload). */
export function providersOf(ctx: Pick<AppContext, 'config' | 'log' | 'clock'> & { fetch?: typeof fetch }): Providers {
  let p = built.get(ctx.config);
  if (!p) {
    const deps: ProviderDeps = { log: ctx.log, now: () => ctx.clock.now(), fetch: ctx.fetch ?? ((...a) => fetch(...a)) };
    const list = ctx.config.auth.providers.map((e) => buildProvider(e, ctx.config, deps));
    const entries = new Map(ctx.config.auth.providers.map((e) => [providerName(e), e]));
    p = { list, get: (n) => list.find((x) => x.name === n), entry: (n) => entries.get(n) };
    built.set(ctx.config, p);
  }
  return p;
}
