// Keys every provider entry in `auth.providers` takes, beside its own `kind` and options.
import { z } from 'zod';

export const providerCommon = {
  /** Unique id (default: the kind); `?provider=` and the login button carry it. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, _ and -').max(64).optional(),
  /** Button text on the login page (default "Sign in with <kind>"). */
  label: z.string().min(1).max(100).optional(),
  /**
   * Put in front of every name this provider gives (after lower-casing and username_map), so two
   * providers' "alice" stay two accounts (jupyterhub-multiauthenticator's username_prefix).
   */
  username_prefix: z.string().regex(/^[a-z0-9._:-]*$/, 'lower-case letters, digits, . _ : -').max(32).default(''),
  /**
   * Put in front of every group name this provider reports ("gh:" makes GitHub's org "staff" the
   * group "gh:staff"). Needed when two providers report groups and group rules are set: anyone can
   * create a GitHub organisation called "hub-admins".
   */
  group_prefix: z.string().max(32).regex(/^[^\x00-\x1f\x7f]*$/).default(''),
  /** Authenticator.allow_all, for this provider only: everyone it authenticates may log in. */
  allow_all: z.boolean().default(false),
  /**
   * OAuthenticator.oauth_callback_url (and CAS's service URL): the public URL of /hub/oauth_callback.
   * Unset, it is worked out from the request (Host and X-Forwarded-Proto) — set it behind a proxy
   * that rewrites Host.
   */
  callback_url: z.string().url().optional(),
};

/** A URL to a server Berth talks to; http is accepted only for loopback unless allow_insecure_http (insecureUrlProblem). */
export const serverUrl = z.string().url();

/**
 * Why `url` may not be used: https always; http only to this machine (loopback: 127.0.0.0/8,
 * localhost, ::1 — a provider beside Berth, as in the tests) unless the entry says
 * allow_insecure_http (a lab). Tokens, codes and client secrets cross these connections.
 */
export function insecureUrlProblem(url: string | undefined, allowInsecureHttp: boolean): string | undefined {
  if (url === undefined) return undefined;
  let u: URL;
  try { u = new URL(url); } catch { return `${url} is not a URL`; }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol !== 'http:') return `${url}: only https:// (or http:// on loopback) is allowed`;
  if (allowInsecureHttp || isLoopback(u.hostname)) return undefined;
  return `${url} is plain http outside loopback: use https://, or set allow_insecure_http: true (tests and labs only)`;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}


