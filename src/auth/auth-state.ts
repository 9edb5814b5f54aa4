// Auth state (provider tokens, LDAP attributes) at rest: AES-256-GCM, as JupyterHub's
// JUPYTERHUB_CRYPT_KEY does with Fernet. Stored as "v1.<key id>.<iv>.<ciphertext+tag>" (base64url):
// the key id (first bytes of the key's SHA-256) picks the key, so rotation is "put the new key
// first, keep the old one until nothing is encrypted with it".
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const keyBytes = (k: string): Buffer | undefined => {
  const t = k.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const b = Buffer.from(t, 'base64');
  return b.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(t) ? b : undefined;
};
const keyId = (key: Buffer) => createHash('sha256').update(key).digest('base64url').slice(0, 8);

/** Config problems: every key must be 32 bytes. */
export function authStateKeyProblems(keys: string[]): string[] {
  return keys.flatMap((k, i) => (keyBytes(k) ? [] : [`auth.auth_state.keys[${i}]: not a 32-byte key (64 hex digits or base64; make one with: openssl rand -hex 32)`]));
}

export class AuthStateCrypt {
  private readonly keys: { id: string; key: Buffer }[];
  constructor(keys: string[]) {
    this.keys = keys.flatMap((k) => k.split(';')).map(keyBytes).filter((k): k is Buffer => !!k).map((key) => ({ id: keyId(key), key }));
  }
  get enabled() { return this.keys.length > 0; }

  encrypt(state: Record<string, unknown>): string {
    const k = this.keys[0];
    if (!k) throw new Error('auth state has no key');
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', k.key, iv);
    c.setAAD(Buffer.from(`v1.${k.id}`));
    const body = Buffer.concat([c.update(JSON.stringify(state), 'utf8'), c.final(), c.getAuthTag()]);
    return `v1.${k.id}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /** undefined when there is nothing, the key is gone (rotated out) or the text was tampered with. */
  decrypt(stored: string | null | undefined): Record<string, unknown> | undefined {
    if (!stored) return undefined;
    const [v, id, ivText, bodyText] = stored.split('.');
    const k = this.keys.find((x) => x.id === id);
    if (v !== 'v1' || !k || !ivText || !bodyText) return undefined;
    try {
      const body = Buffer.from(bodyText, 'base64url');
      const d = createDecipheriv('aes-256-gcm', k.key, Buffer.from(ivText, 'base64url'));
      d.setAAD(Buffer.from(`v1.${k.id}`));
      d.setAuthTag(body.subarray(body.length - 16));
      const text = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString('utf8');
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}

const crypts = new WeakMap<object, AuthStateCrypt>();
/** The auth-state keys of the config in force (rebuilt after a reload). */
export function authStateCrypt(config: { auth: { auth_state: { keys: string[] } } }): AuthStateCrypt {
  let c = crypts.get(config.auth.auth_state);
  if (!c) crypts.set(config.auth.auth_state, (c = new AuthStateCrypt(config.auth.auth_state.keys)));
  return c;
}
