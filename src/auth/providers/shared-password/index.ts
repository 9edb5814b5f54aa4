// The shared-password login provider (JupyterHub's SharedPasswordAuthenticator), and the admin
// password generated once at first start when the config sets none.
import { randomBytes, randomInt, scryptSync, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { AppContext } from '../../../context.ts';
import type { Config } from '../../../config/schema.ts';
import { sameSecret } from '../../tokens.ts';
import { finalName, listed } from '../../normalize.ts';
import type { FormProvider } from '../types.ts';
import type { sharedPasswordConfig } from './config.ts';

/** Where the generated admin password's salted hash lives. */
export const adminPasswordFile = (config: Config) => join(config.hub.data_dir, 'admin-password');

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
  const file = adminPasswordFile(ctx.config);
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

async function adminPasswordMatches(config: Config, password: string): Promise<boolean> {
  const configured = config.auth.admin_password;
  if (configured) return sameSecret(password, configured);
  let stored: string;
  try {
    stored = await readFile(adminPasswordFile(config), 'utf8');
  } catch {
    return false; // no admin password yet: admin login is closed, never open
  }
  return verifyPassword(password, stored);
}

/**
 * SharedPasswordAuthenticator: admin_users must use the admin password (the shared one never makes
 * or logs in an admin); any other name uses the shared password, and the policy then decides
 * whether that name may log in (allow_all or allowed_users).
 */
export function sharedPasswordProvider(entry: z.infer<typeof sharedPasswordConfig>, config: Config): FormProvider {
  return {
    type: 'form',
    kind: 'shared-password',
    name: entry.name ?? 'shared-password',
    label: entry.label ?? 'Sign in',
    async check({ username, password }) {
      // decided on the name the policy will see (mapped and prefixed), so the two cannot disagree;
      // the claims carry what was typed, normalised once, by the policy
      const name = finalName(config.auth, entry, username);
      if (!name || !password) return null;
      if (listed(config.auth.admin_users ?? ['admin'], name)) return (await adminPasswordMatches(config, password)) ? { name: username, admin: true } : null;
      const shared = config.auth.shared_password;
      return shared && sameSecret(password, shared) ? { name: username } : null;
    },
  };
}
