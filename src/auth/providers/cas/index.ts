// The CAS login provider (jupyterhub-cas-authenticator's CASAuthenticator; Apereo CAS protocol 2.0
// and 3.0). begin sends the browser to <server_url>/login?service=<service URL>; CAS sends it back to
// the service URL with ?ticket=ST-…, and complete validates that ticket with the server
// (/p3/serviceValidate for 3.0, /serviceValidate for 2.0). CAS has no state parameter, so Berth's
// state rides inside the service URL — the one CAS binds the ticket to — and is rebuilt byte for
// byte from the same callback URL and state when the ticket is validated.
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Claims, type RedirectProvider, type ProviderDeps } from '../types.ts';
import type { casConfig } from './config.ts';
import { CasResponseError, parseServiceResponse, type CasValidation } from './response.ts';

type Entry = z.infer<typeof casConfig>;

/** How long a ticket validation may take, answer included. */
export const VALIDATE_TIMEOUT_MS = 10_000;
/** A serviceValidate answer is a few hundred bytes; a megabyte is a server gone wrong. */
const MAX_ANSWER_BYTES = 1 << 20;

/** The service URL CAS sends the browser back to: the callback URL with `state` in its query. */
export function serviceUrl(callbackUrl: string, state: string): string {
  const u = new URL(callbackUrl);
  u.hash = '';
  u.searchParams.set('state', state);
  return u.href;
}

const base = (entry: Entry) => entry.server_url.replace(/\/+$/, '');

/** The ticket-validation URL: the protocol's endpoint with `service` and `ticket`, nothing else. */
export function validateUrl(entry: Entry, service: string, ticket: string): string {
  const u = new URL(`${base(entry)}${entry.protocol === '3.0' ? '/p3/serviceValidate' : '/serviceValidate'}`);
  u.searchParams.set('service', service);
  u.searchParams.set('ticket', ticket);
  return u.href;
}

async function readCapped(res: Response): Promise<string> {
  if (Number(res.headers.get('content-length') ?? 0) > MAX_ANSWER_BYTES) throw new CasResponseError(`an answer over ${MAX_ANSWER_BYTES} bytes`);
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > MAX_ANSWER_BYTES) throw new CasResponseError(`an answer over ${MAX_ANSWER_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new CasResponseError('an answer that is not UTF-8');
  }
}

const unreachable = (detail: string, cause?: unknown) =>
  new LoginError('failed', 'The CAS server could not be reached to check the sign-in', { hint: 'Try again in a minute. If it keeps failing, tell the hub administrator.', detail, cause });
const garbled = (detail: string) =>
  new LoginError('failed', 'The CAS server gave an answer Berth could not read', { hint: 'Try again. If it keeps failing, tell the hub administrator (the hub log has the details).', detail });

export function casProvider(entry: Entry, _config: Config, deps: ProviderDeps): RedirectProvider {
  const name = entry.name ?? 'cas';
  const required = Object.entries(entry.required_attributes);

  /** Asks the CAS server about the ticket. Throws LoginError 'failed' when the answer is not one. */
  async function validate(service: string, ticket: string): Promise<CasValidation> {
    let res: Response;
    let body: string;
    try {
      // redirect 'error': the validation answer comes from the server itself, never from wherever it points
      res = await deps.fetch(validateUrl(entry, service, ticket), {
        headers: { accept: 'application/xml, text/xml;q=0.9' }, redirect: 'error', signal: AbortSignal.timeout(VALIDATE_TIMEOUT_MS),
      });
      body = await readCapped(res);
    } catch (err) {
      if (err instanceof CasResponseError) throw garbled(err.message);
      throw unreachable(String((err as Error)?.cause ?? err), err);
    }
    try {
      const answer = parseServiceResponse(body);
      // some servers send a failure with a 4xx/5xx status: what they said still counts
      if (res.ok || !answer.ok) return answer;
    } catch (err) {
      if (!(err instanceof CasResponseError)) throw err;
      if (res.ok) throw garbled(err.message);
    }
    throw garbled(`HTTP ${res.status} from the ticket validation`);
  }

  return {
    type: 'redirect',
    kind: 'cas',
    name,
    label: entry.label ?? 'Sign in with CAS',

    async begin({ callbackUrl, state }) {
      const u = new URL(`${base(entry)}/login`);
      u.searchParams.set('service', serviceUrl(callbackUrl, state));
      return { url: u.href };
    },

    async complete({ callbackUrl, state, params }) {
      const ticket = params.get('ticket') ?? '';
      // the spec lets tickets be up to 256 characters; anything odder never reaches the server
      if (!ticket || ticket.length > 1024 || /[\x00-\x20\x7f]/.test(ticket)) {
        throw new LoginError('invalid', 'The CAS server sent the browser back without a sign-in ticket', { hint: 'Start again from the sign-in page.' });
      }
      const answer = await validate(serviceUrl(callbackUrl, state), ticket);
      if (!answer.ok) {
        deps.log.info('CAS ticket refused', { provider: name, code: answer.code, message: answer.message });
        throw new LoginError('refused', 'The CAS server did not accept the sign-in ticket', {
          hint: 'Start again from the sign-in page: a CAS ticket works once, only for this hub, and only for a few minutes.', detail: answer.code,
        });
      }
      const { user, attributes } = answer;
      const values = (attr: string) => (Object.hasOwn(attributes, attr) ? attributes[attr]! : []);
      let loginName = user;
      if (entry.username_attribute) {
        const names = [...new Set(values(entry.username_attribute).filter(Boolean))];
        if (names.length !== 1) {
          throw new LoginError('refused', `The CAS server gave ${names.length ? 'more than one' : 'no'} "${entry.username_attribute}" for this account, which this hub uses as the user name`, {
            hint: 'Ask the hub administrator (the CAS server must release that attribute, with one value).', detail: `CAS user ${user.slice(0, 64)}`,
          });
        }
        loginName = names[0]!;
      }
      const claims: Claims = { name: loginName, authState: { attributes } };
      if (entry.group_attribute) claims.groups = [...values(entry.group_attribute)];
      if (required.length) {
        const missing = required.filter(([attr, want]) => !values(attr).includes(want)).map(([attr]) => attr);
        if (missing.length) deps.log.info('CAS required attributes not matched', { provider: name, user: user.slice(0, 64), missing });
        else claims.allowed = true;
      }
      return claims;
    },
  };
}
