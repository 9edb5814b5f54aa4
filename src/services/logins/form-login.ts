// A username + password login on a form provider (shared password, LDAP): the provider checks
// the password, then logIn applies the policy. Wrong name/password and "not allowed" look the same
// to the browser, so the form never tells which names exist.
import type { AppContext } from '../../context.ts';
import type { FormProvider } from '../../auth/providers/types.ts';
import { logIn, type LogInResult } from './log-in.ts';

export async function formLogin({ ctx, input }: { ctx: AppContext; input: { provider: FormProvider; username: string; password: string } }): Promise<LogInResult> {
  const { provider, username, password } = input;
  if (!username.trim() || !password) return { ok: false, name: undefined, reason: 'empty user name or password' };
  const claims = await provider.check({ username, password });
  if (!claims) return { ok: false, name: undefined, reason: 'wrong user name or password' };
  return logIn({ ctx, input: { provider, claims } });
}
