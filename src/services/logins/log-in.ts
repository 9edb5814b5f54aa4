// Turns a provider's claims into a session: the policy decides, auth state is encrypted, the
// user's groups and POSIX identity are stored, the session is created. A refusal is audited with
// its reason (the person at the page is told only that they may not log in).
import type { AppContext } from '../../context.ts';
import type { Claims, Provider } from '../../auth/providers/types.ts';
import { providersOf } from '../../auth/providers/index.ts';
import { decide } from '../../auth/policy.ts';
import { authStateCrypt } from '../../auth/auth-state.ts';
import { createSession, type CreatedSession } from '../sessions/create.ts';
import { recordAudit } from '../audit/record.ts';

export type LogInResult =
  | { ok: true; created: CreatedSession }
  /** boundTo: the label of the provider this account signs in with, when that is why. */
  | { ok: false; name: string | undefined; reason: string; boundTo?: string };


export async function logIn({ ctx, input }: { ctx: AppContext; input: { provider: Provider; claims: Claims } }): Promise<LogInResult> {
  const { provider, claims } = input;
  const entry = providersOf(ctx).entry(provider.name);
  if (!entry) return { ok: false, name: undefined, reason: 'provider no longer configured' };
  const decision = decide(ctx.config.auth, entry, claims);
  if (!decision.ok) {
    await recordAudit(ctx, { actor: decision.name ?? `provider:${provider.name}`, action: 'login.refused', target: decision.name, detail: { provider: provider.name, reason: decision.reason } });
    return decision;
  }
  // The bootstrap admin's name belongs to the shared password while admin_users is unset: a
  // delegated provider's "admin" must not take the account before the real admin first logs in.
  const providers = providersOf(ctx);
  if (ctx.config.auth.admin_users === undefined && decision.name === 'admin' && provider.kind !== 'shared-password' && providers.list.some((p) => p.kind === 'shared-password')) {
    const owner = providers.list.find((p) => p.kind === 'shared-password')!;
    await recordAudit(ctx, { actor: decision.name, action: 'login.refused', target: decision.name, detail: { provider: provider.name, reason: 'the bootstrap admin name' } });
    return { ok: false, name: decision.name, reason: 'the bootstrap admin name', boundTo: owner.label };
  }
  const crypt = authStateCrypt(ctx.config);
  const authState = crypt.enabled && claims.authState ? crypt.encrypt(claims.authState) : undefined;
  const created = await createSession({
    ctx,
    input: {
      name: decision.name, admin: decision.admin, groups: decision.groups, provider: provider.name, authState,
      providerConfigured: (name) => !!providers.get(name), severalProviders: providers.list.length > 1,
      posix: claims.uid !== undefined || claims.gid !== undefined || claims.home !== undefined ? { uid: claims.uid, gid: claims.gid, home: claims.home } : undefined,
    },
  });
  if (created && 'boundTo' in created) {
    const owner = providers.get(created.boundTo)!;
    await recordAudit(ctx, { actor: decision.name, action: 'login.refused', target: decision.name, detail: { provider: provider.name, reason: `account of provider ${created.boundTo}` } });
    return { ok: false, name: decision.name, reason: `account of provider ${created.boundTo}`, boundTo: owner?.label ?? created.boundTo };
  }
  if (!created) {
    await recordAudit(ctx, { actor: decision.name, action: 'login.refused', target: decision.name, detail: { provider: provider.name, reason: 'blocked by an admin' } });
    return { ok: false, name: decision.name, reason: 'blocked by an admin' };
  }
  return { ok: true, created };
}
