// Webhook authentication (POST /hub/api/webhooks/spawn). The caller is a CI system, an LMS or a
// calendar, not a person with a token: it proves it knows webhooks.secret by signing each call.
//   X-Berth-Timestamp: <Unix time, whole seconds>
//   X-Berth-Signature: sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>
// Signing the timestamp with the body means a captured call cannot be re-sent later with a fresh
// timestamp; the tolerance bounds how long a captured call stays usable, and record-delivery.ts
// refuses a second use of the same signature within it.
//
// Status codes: a missing header is a missing credential (401); a header that is there but not in the
// documented shape is a malformed request (400). A wrong signature is 401, not 403: the signature is the
// only credential, so a wrong one means the caller is not authenticated at all (403 would say "we know
// who you are, and you may not"), and a caller that sees 401 knows to check its secret. A timestamp too
// far from now is 401 too (the credential has expired), with the skew in seconds so a bad clock shows.
import { createHmac } from 'node:crypto';
import type { AppContext } from '../../context.ts';
import { ServiceError, invalid } from '../../errors.ts';
import { sameSecret, sha256 } from '../../auth/tokens.ts';

export const TIMESTAMP_HEADER = 'X-Berth-Timestamp';
export const SIGNATURE_HEADER = 'X-Berth-Signature';

/**
 * The hex HMAC-SHA256 a caller sends after "sha256=" (what `openssl dgst -sha256 -hmac` prints), over
 * the body's bytes as sent (decoding first would drop a BOM or mend bad UTF-8 and break the match).
 */
export function signPayload(secret: string, timestamp: number | string, rawBody: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(rawBody).digest('hex');
}

export interface VerifyInput {
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Uint8Array;
}

export interface Verified {
  /** The signed Unix time, in seconds. */
  timestamp: number;
  /** sha256 of the signature: what the replay table stores (never the signature itself). */
  digest: string;
}

const unauthenticated = (message: string) =>
  new ServiceError('Unauthenticated', message, { status: 401, headers: { 'WWW-Authenticate': `HMAC-SHA256 headers="${TIMESTAMP_HEADER} ${SIGNATURE_HEADER}"` } });

/** Checks the headers against webhooks.secret and the clock; throws the refusal the caller sees. */
export function verifyDelivery(ctx: AppContext, secret: string, input: VerifyInput): Verified {
  const howTo = `sign "<timestamp>.<body>" with HMAC-SHA256 and webhooks.secret`;
  if (input.timestamp === undefined) throw unauthenticated(`Missing ${TIMESTAMP_HEADER} header (Unix time in seconds); ${howTo}`);
  if (input.signature === undefined) throw unauthenticated(`Missing ${SIGNATURE_HEADER} header (sha256=<hex>); ${howTo}`);
  const ts = input.timestamp.trim();
  if (!/^\d{1,12}$/.test(ts)) throw invalid(`${TIMESTAMP_HEADER} must be Unix time in whole seconds (like 1764633600), not '${ts.slice(0, 40)}'`);
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(input.signature.trim());
  if (!m) throw invalid(`${SIGNATURE_HEADER} must be 'sha256=' followed by 64 hex digits of HMAC-SHA256`);
  const given = m[1]!.toLowerCase();

  if (!sameSecret(given, signPayload(secret, ts, input.rawBody))) {
    throw unauthenticated(`Invalid ${SIGNATURE_HEADER}: it does not match the body and timestamp signed with webhooks.secret`);
  }
  // Checked after the signature, so only a caller holding the secret learns how far off its clock is.
  const timestamp = Number(ts);
  const tolerance = ctx.config.webhooks.tolerance_seconds;
  const skew = Math.round(ctx.clock.now() / 1000 - timestamp);
  if (Math.abs(skew) > tolerance) {
    const side = skew > 0 ? `${skew} s in the past` : `${-skew} s in the future`;
    throw unauthenticated(`Stale ${TIMESTAMP_HEADER}: ${side} (webhooks.tolerance_seconds is ${tolerance}); sign each call with the current time and check the caller's clock`);
  }
  return { timestamp, digest: sha256(given) };
}
