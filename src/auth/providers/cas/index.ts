// PLACEHOLDER until the cas provider lands (issue 8): refuses every login.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Provider, type ProviderDeps } from '../types.ts';
import type { casConfig } from './config.ts';

export function casProvider(entry: z.infer<typeof casConfig>, _config: Config, _deps: ProviderDeps): Provider {
  return {
    type: 'redirect', kind: 'cas', name: entry.name ?? 'cas', label: entry.label ?? 'Sign in with cas', hasAllowRule: () => false,
    begin: () => Promise.reject(new LoginError('failed', 'cas login is not built yet')),
    complete: () => Promise.reject(new LoginError('failed', 'cas login is not built yet')),
  };
}
