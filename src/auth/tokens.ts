// Token generation, hashing and lookup in JupyterHub's stored format (spec F):
// "sha512:<rounds>:<salt hex>:<digest hex>", found by a 4-character prefix. Never stored in clear.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Hub-made tokens: 32 lower-case hex characters (uuid4().hex). */
export const newToken = () => randomBytes(16).toString('hex');

/** OAuth access tokens and codes: 30 characters of [A-Za-z0-9], as oauthlib makes them. */
export function newOAuthToken(length = 30): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; i < bytes.length && out.length < length; i++) if (bytes[i]! < 248) out += abc[bytes[i]! % 62];
  return out.length === length ? out : newOAuthToken(length);
}

/** 1 round for hub-generated tokens (enough entropy); 16384 for user-supplied ones (config). */
export const GENERATED_ROUNDS = 1;
export const USER_SUPPLIED_ROUNDS = 16384;

function digest(token: string, salt: string, rounds: number): string {
  const h = createHash('sha512');
  h.update(salt, 'utf8');
  const bytes = Buffer.from(token, 'utf8');
  for (let i = 0; i < rounds; i++) h.update(bytes);
  return h.digest('hex');
}

export function hashToken(token: string, rounds = GENERATED_ROUNDS, salt = randomBytes(8).toString('hex')): string {
  return `sha512:${rounds}:${salt}:${digest(token, salt, rounds)}`;
}

export function verifyToken(token: string, hashed: string): boolean {
  const [alg, roundsText, salt, hex] = hashed.split(':');
  if (alg !== 'sha512' || !salt || !hex) return false;
  const rounds = Number(roundsText);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1_000_000) return false;
  const a = Buffer.from(digest(token, salt, rounds), 'hex');
  const b = Buffer.from(hex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export const tokenPrefix = (token: string) => token.slice(0, 4);

/** Accepts `token <t>` and `bearer <t>` (any case), as JupyterHub's `^(token|bearer)\s+(\S+)$`. */
export function tokenFromHeader(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Equal-time comparison of two secrets of any length (hashing first hides the length). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a, 'utf8').digest(), createHash('sha256').update(b, 'utf8').digest());
}

/** Non-secret lookups (session cookies, OAuth codes): a plain SHA-256 is enough for random 128-bit values. */
export const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
