// PLACEHOLDER until the oidc provider lands (issue 8): refuses every login.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Provider, type ProviderDeps } from '../types.ts';
import type { oidcConfig } from './config.ts';

export function oidcProvider(entry: z.infer<typeof oidcConfig>, _config: Config, _deps: ProviderDeps): Provider {
  return {
    type: 'redirect', kind: 'oidc', name: entry.name ?? 'oidc', label: entry.label ?? 'Sign in with oidc', hasAllowRule: () => false,
    begin: () => Promise.reject(new LoginError('failed', 'oidc login is not built yet')),
    complete: () => Promise.reject(new LoginError('failed', 'oidc login is not built yet')),
  };
}
