// PLACEHOLDER until the gitlab provider lands (issue 8): refuses every login.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Provider, type ProviderDeps } from '../types.ts';
import type { gitlabConfig } from './config.ts';

export function gitlabProvider(entry: z.infer<typeof gitlabConfig>, _config: Config, _deps: ProviderDeps): Provider {
  return {
    type: 'redirect', kind: 'gitlab', name: entry.name ?? 'gitlab', label: entry.label ?? 'Sign in with gitlab', hasAllowRule: () => false,
    begin: () => Promise.reject(new LoginError('failed', 'gitlab login is not built yet')),
    complete: () => Promise.reject(new LoginError('failed', 'gitlab login is not built yet')),
  };
}
