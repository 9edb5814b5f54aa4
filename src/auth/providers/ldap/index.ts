// PLACEHOLDER until the ldap provider lands (issue 8): refuses every login.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Provider, type ProviderDeps } from '../types.ts';
import type { ldapConfig } from './config.ts';

export function ldapProvider(entry: z.infer<typeof ldapConfig>, _config: Config, _deps: ProviderDeps): Provider {
  return {
    type: 'redirect', kind: 'ldap', name: entry.name ?? 'ldap', label: entry.label ?? 'Sign in with ldap', hasAllowRule: () => false,
    begin: () => Promise.reject(new LoginError('failed', 'ldap login is not built yet')),
    complete: () => Promise.reject(new LoginError('failed', 'ldap login is not built yet')),
  };
}
