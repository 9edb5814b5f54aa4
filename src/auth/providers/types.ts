// The login-provider seam (design §7). A provider only proves who someone is and what its source
// says about them (claims); the access policy (src/auth/policy.ts) is applied once, to the claims,
// by the login handlers — no provider decides who may use the hub on its own, except through the
// `allowed` claim its own membership rules (GitHub orgs, GitLab projects, LDAP filter…) produce.
import type { Logger } from '../../log.ts';

export interface Claims {
  /** The provider's user name, as it gave it; the policy normalises it. */
  name: string;
  /**
   * Groups the provider reports (orgs/teams, GitLab groups, the groups claim, LDAP groups, a CAS
   * attribute). Undefined: this provider does not manage groups, so membership is left alone.
   */
  groups?: string[];
  /** The provider itself vouches for admin (the shared password's admin password). */
  admin?: boolean;
  /**
   * The provider's own allow rule matched (allowed GitHub organisation, GitLab project, LDAP
   * membership filter, CAS required attributes). Never set when the provider has no such rule.
   */
  allowed?: boolean;
  /** POSIX identity for the system-user backend (LDAP uidNumber/gidNumber/homeDirectory). */
  uid?: number;
  gid?: number;
  home?: string;
  /** Provider tokens and attributes, stored encrypted when auth state is enabled. */
  authState?: Record<string, unknown>;
}

/**
 * What went wrong, said to the person at the login page. `hint` says what to try. Never carries a
 * stack or a provider's raw answer; the log gets `detail`.
 */
export class LoginError extends Error {
  readonly hint: string;
  readonly detail: string | undefined;
  /** 'refused': the provider or policy said no (403). 'failed': the provider misbehaved or was unreachable (502). 'invalid': the browser sent a bad callback (400). */
  readonly kind: 'refused' | 'failed' | 'invalid';
  constructor(kind: LoginError['kind'], message: string, opts: { hint?: string; detail?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'LoginError';
    this.kind = kind;
    this.hint = opts.hint ?? 'Try signing in again. If it keeps failing, ask the hub administrator.';
    this.detail = opts.detail;
  }
}

export interface ProviderDeps {
  log: Logger;
  now: () => number;
  /** fetch, replaceable in unit tests. */
  fetch: typeof fetch;
}

interface ProviderBase {
  /** Unique among the configured providers; `?provider=` and the state cookie carry it. */
  readonly name: string;
  readonly kind: string;
  /** The button (or form heading) text. */
  readonly label: string;
  /** Re-reads identity with stored auth state (a token refresh); undefined when the provider cannot. */
  refresh?(authState: Record<string, unknown>): Promise<Claims | undefined>;
}

/** A username + password form (shared password, LDAP). */
export interface FormProvider extends ProviderBase {
  readonly type: 'form';
  /** null: wrong name or password (the page says only that). Throws LoginError when the source failed. */
  check(input: { username: string; password: string }): Promise<Claims | null>;
}

/** A redirect to the identity provider and a callback back to /hub/oauth_callback. */
export interface RedirectProvider extends ProviderBase {
  readonly type: 'redirect';
  /**
   * Where to send the browser. `state` is Berth's own random value (also in the signed cookie);
   * `saved` is kept server-side until the callback (PKCE verifier, nonce) and never reaches the browser.
   */
  begin(input: { callbackUrl: string; state: string }): Promise<{ url: string; saved?: Record<string, unknown> }>;
  /** The callback's query: exchange, validate, resolve identity and groups. Throws LoginError. */
  complete(input: { callbackUrl: string; state: string; params: URLSearchParams; saved: Record<string, unknown> }): Promise<Claims>;
}

export type Provider = FormProvider | RedirectProvider;
