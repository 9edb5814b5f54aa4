// PLACEHOLDER until the github provider lands (issue 8): refuses every login.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Provider, type ProviderDeps } from '../types.ts';
import type { githubConfig } from './config.ts';

export function githubProvider(entry: z.infer<typeof githubConfig>, _config: Config, _deps: ProviderDeps): Provider {
  return {
    type: 'redirect', kind: 'github', name: entry.name ?? 'github', label: entry.label ?? 'Sign in with github', hasAllowRule: () => false,
    begin: () => Promise.reject(new LoginError('failed', 'github login is not built yet')),
    complete: () => Promise.reject(new LoginError('failed', 'github login is not built yet')),
  };
}
