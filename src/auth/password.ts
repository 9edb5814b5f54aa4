// The shared-password login provider (JupyterHub's SharedPasswordAuthenticator), and the admin
// password generated once at first start when the config sets none.
import { randomBytes, randomInt, scryptSync, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppContext } from '../context.ts';
import { sameSecret } from './tokens.ts';
import { normalizeUserName, validUserName } from '../names.ts';

/** Where the generated admin password's salted hash lives. */
export const adminPasswordFile = (ctx: AppContext) => join(ctx.config.hub.data_dir, 'admin-password');

const SCRYPT_N = 16384;

function hashPassword(password: string): string {
  const salt = randomBytes(16).toString('hex');
  return `scrypt:${SCRYPT_N}:${salt}:${scryptSync(password, salt, 32, { N: SCRYPT_N }).toString('hex')}`;
}

function verifyPassword(password: string, stored: string): boolean {
  const [alg, nText, salt, hex] = stored.trim().split(':');
  const n = Number(nText);
  if (alg !== 'scrypt' || !salt || !hex || !Number.isInteger(n) || n < 2 || n > 1 << 20) return false;
  const want = Buffer.from(hex, 'hex');
  if (want.length !== 32) return false;
  return timingSafeEqual(scryptSync(password, salt, 32, { N: n, maxmem: 256 * n * 8 + 1024 * 1024 }), want);
}

/** Readable: four groups of five from an alphabet without look-alikes (0/O, 1/l/I), ~115 bits. */
function readablePassword(): string {
  const abc = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const group = () => Array.from({ length: 5 }, () => abc[randomInt(abc.length)]).join('');
  return [group(), group(), group(), group()].join('-');
}

/**
 * Makes sure an admin password exists. Config `auth.admin_password` always wins; otherwise one is
 * generated at first start, only its salted hash is kept (`<data_dir>/admin-password`, mode 0600),
 * and the clear text is returned once as `generated` for serve.ts to print. Later starts reuse it.
 */
export async function ensureAdminPassword(ctx: AppContext): Promise<{ generated?: string }> {
  if (ctx.config.auth.admin_password) return {};
  const file = adminPasswordFile(ctx);
  await mkdir(ctx.config.hub.data_dir, { recursive: true });
  const password = readablePassword();
  try {
    // 'wx': two processes starting at once cannot both win; the loser keeps the winner's hash.
    await writeFile(file, hashPassword(password) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return {};
    throw err;
  }
  return { generated: password };
}

async function adminPasswordMatches(ctx: AppContext, password: string): Promise<boolean> {
  const configured = ctx.config.auth.admin_password;
  if (configured) return sameSecret(password, configured);
  let stored: string;
  try {
    stored = await readFile(adminPasswordFile(ctx), 'utf8');
  } catch {
    return false; // no admin password yet: admin login is closed, never open
  }
  return verifyPassword(password, stored);
}

/**
 * Checks a login. Names are lower-cased first, as JupyterHub's normalize_username does, so "Alice"
 * and "alice" are one account. Like SharedPasswordAuthenticator, admin_users must use the admin
 * password (the shared one never makes or logs in an admin); any other allowed name (allow_all, or
 * listed in allowed_users) uses the shared password; blocked_users never log in.
 */
export async function checkLogin(ctx: AppContext, username: string, password: string): Promise<{ name: string; admin: boolean } | null> {
  const name = normalizeUserName(username);
  if (!validUserName(name) || !password) return null;
  const auth = ctx.config.auth;
  const listed = (list: string[]) => list.some((n) => n.toLowerCase() === name);
  if (listed(auth.blocked_users)) return null;
  if (listed(auth.admin_users)) return (await adminPasswordMatches(ctx, password)) ? { name, admin: true } : null;
  // compare before deciding, so the answer's timing does not tell which names are allowed
  const ok = !!auth.shared_password && sameSecret(password, auth.shared_password);
  return ok && (auth.allow_all || listed(auth.allowed_users)) ? { name, admin: false } : null;
}
