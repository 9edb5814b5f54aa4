// A redirect provider for unit tests of the login handlers: its "identity provider" is a table of
// codes → claims, and it records what the seam handed it (the saved state, the callback URL).
import { LoginError, type Claims, type RedirectProvider } from '../../src/auth/providers/types.ts';

export interface FakeRedirect extends RedirectProvider {
  codes: Map<string, Claims | Error>;
  seen: { saved: Record<string, unknown>; callbackUrl: string; state: string }[];
}

export function fakeRedirectProvider(name = 'fake'): FakeRedirect {
  const codes = new Map<string, Claims | Error>();
  const seen: FakeRedirect['seen'] = [];
  return {
    type: 'redirect', kind: 'oidc', name, label: `Sign in with ${name}`, codes, seen,
    async begin({ callbackUrl, state }) {
      return { url: `https://idp.example/authorize?redirect_uri=${encodeURIComponent(callbackUrl)}&state=${state}`, saved: { verifier: `v-${state.slice(0, 6)}` } };
    },
    async complete({ callbackUrl, state, params, saved }) {
      seen.push({ saved, callbackUrl, state });
      const found = codes.get(params.get('code') ?? '');
      if (!found) throw new LoginError('refused', 'The identity provider did not accept the sign-in code');
      if (found instanceof Error) throw found;
      return found;
    },
  };
}
