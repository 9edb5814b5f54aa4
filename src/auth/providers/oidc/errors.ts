// openid-client's errors as LoginErrors: a message safe to show (never the provider's raw answer),
// a hint, and the whole story in `detail` for the log. An ID token that fails a check (signature,
// issuer, audience, expiry, nonce) is refused; a provider that cannot be reached or answers
// nonsense is a failure.
import { openidClientLoaded } from '../openid-lib.ts';
import { LoginError } from '../types.ts';

/** The error and its causes, innermost last, as one line. */
function story(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 6; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(`${e.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${e.message}`);
      e = e.cause;
    } else {
      // oauth4webapi puts the compared claim (and the expected value) in a plain-object cause
      const { claim, attribute, expected, error, error_description: desc } = e as Record<string, unknown>;
      const bits = { claim, attribute, expected, error, desc };
      const shown = Object.entries(bits).filter(([, v]) => v !== undefined && typeof v !== 'object');
      if (shown.length) parts.push(shown.map(([k, v]) => `${k}=${String(v).slice(0, 200)}`).join(' '));
      break;
    }
  }
  return parts.join(' ← ');
}

const codes = (err: unknown): string[] => {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
  }
  return out;
};

/** `what`: the step, for the log ("token exchange", "userinfo", "discovery", "refresh"). */
export function toLoginError(err: unknown, label: string, what: string): LoginError {
  if (err instanceof LoginError) return err;
  // the library's error classes: none while it is not loaded (openid-lib.ts), and then no error is one
  const lib = openidClientLoaded();
  const detail = `${what}: ${story(err)}`;
  const cs = codes(err);
  const text = story(err);
  if (cs.includes('OAUTH_JWT_TIMESTAMP_CHECK_FAILED')) {
    return new LoginError('refused', `${label}: the identity provider's token has expired or is not valid yet`, {
      hint: 'Sign in again. If it keeps failing, this machine\'s clock and the identity provider\'s may disagree: ask the hub administrator.',
      detail, cause: err,
    });
  }
  if (cs.includes('OAUTH_JWT_CLAIM_COMPARISON_FAILED') || cs.includes('OAUTH_KEY_SELECTION_FAILED') || /signature verification failed/i.test(text)) {
    return new LoginError('refused', `${label}: the identity provider's answer could not be verified`, {
      hint: 'Start again from the sign-in page. If it keeps failing, ask the hub administrator.',
      detail, cause: err,
    });
  }
  if (lib && err instanceof lib.ResponseBodyError) {
    // the provider's own error code (invalid_grant, invalid_client…) is a fixed token, safe to show
    const code = /^[a-z_]{1,40}$/.test(err.error) ? err.error : 'error';
    return new LoginError('failed', `${label}: the identity provider did not accept the sign-in (${code})`, {
      hint: code === 'invalid_client' ? 'The hub\'s client_id or client_secret is wrong: ask the hub administrator.' : 'Start again from the sign-in page.',
      detail, cause: err,
    });
  }
  if (lib && err instanceof lib.AuthorizationResponseError) {
    return new LoginError('refused', `${label}: the identity provider refused the sign-in`, { hint: 'Start again from the sign-in page.', detail, cause: err });
  }
  if (lib && err instanceof lib.WWWAuthenticateChallengeError) {
    return new LoginError('failed', `${label}: the identity provider refused the hub's token`, { detail, cause: err });
  }
  if (lib && err instanceof lib.ClientError && cs.includes('OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED')) {
    // the discovery document names another issuer, the callback's iss is another provider's, or userinfo is another subject's
    return new LoginError('refused', `${label}: the identity provider's answer did not match this hub's settings`, { detail, cause: err });
  }
  if (lib && err instanceof lib.ClientError && cs.includes('OAUTH_HTTP_REQUEST_FORBIDDEN')) {
    return new LoginError('failed', `${label}: the identity provider's address is plain http`, {
      hint: 'Ask the hub administrator: the provider must use https (or allow_insecure_http for a lab).', detail, cause: err,
    });
  }
  return new LoginError('failed', `${label}: the identity provider could not be reached or gave an answer the hub cannot use`, {
    hint: 'Try again in a moment. If it keeps failing, ask the hub administrator.', detail, cause: err,
  });
}
