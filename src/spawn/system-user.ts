// The system-user part of a spawn (SystemUserSpawner): who the user is on the host — uid, gid and home
// from the configured sources, first answer wins — and the spec that runs their server as them, with
// their host home bind-mounted. The backend only checks the spec says who to run as.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { schema } from '../../db/client.ts';
import type { ServerMount, ServerSpec } from '../backends/types.ts';
import type { SystemUserConfig } from '../config/backend-schema.ts';
import type { AppContext } from '../context.ts';
import { SpawnError } from '../errors.ts';

/** What the login provider said (user_auth: LDAP uidNumber / gidNumber / homeDirectory). */
export interface PosixClaims {
  uid: number | null;
  gid: number | null;
  home: string | null;
}

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  /** The home the source gives, when it gives one. */
  home?: string | undefined;
  source: 'claims' | 'table' | 'passwd';
}

export interface PasswdEntry {
  uid: number;
  gid: number;
  home: string;
}

/** passwd(5): name:password:uid:gid:gecos:home:shell; comments, blank and malformed lines are skipped. */
export function parsePasswd(text: string): Map<string, PasswdEntry> {
  const entries = new Map<string, PasswdEntry>();
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7 || !f[0]) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    if (!entries.has(f[0])) entries.set(f[0], { uid, gid, home: f[5]! }); // the first entry wins, as getpwnam's
  }
  return entries;
}

export interface ResolveDeps {
  /** Reads backend.passwd_file (tests pass a fake). */
  readFile?: (path: string) => string;
}

/**
 * uid, gid and home of `name` from backend.sources in order; a source that does not know the user
 * (claims without a uid, no table entry, no passwd line) passes to the next. Refuses an unknown
 * user and a uid below backend.min_uid (root and system accounts never get a server).
 */
export function resolveSystemUser(cfg: SystemUserConfig, name: string, claims: PosixClaims | undefined, deps: ResolveDeps = {}): SystemUser {
  const found = findSystemUser(cfg, name, claims, deps.readFile ?? ((p) => readFileSync(p, 'utf8')));
  if (!found) throw new SpawnError('backend', `no system user ${name}: create it (useradd) or add it to backend.users`);
  if (found.uid < cfg.min_uid) {
    throw new SpawnError('backend', `system user ${name} has uid ${found.uid} (from ${found.source}), below backend.min_uid ${cfg.min_uid}: give the user a uid of at least ${cfg.min_uid} or lower backend.min_uid`);
  }
  return found;
}

function findSystemUser(cfg: SystemUserConfig, name: string, claims: PosixClaims | undefined, readFile: (path: string) => string): SystemUser | undefined {
  for (const source of cfg.sources) {
    if (source === 'claims' && claims?.uid != null) {
      return { name, uid: claims.uid, gid: claims.gid ?? claims.uid, home: claims.home ?? undefined, source };
    }
    if (source === 'table' && Object.hasOwn(cfg.users, name)) {
      const u = cfg.users[name]!;
      return { name, uid: u.uid, gid: u.gid, home: u.home, source };
    }
    if (source === 'passwd') {
      let text: string;
      try {
        text = readFile(cfg.passwd_file);
      } catch (err) {
        throw new SpawnError('backend', `cannot read backend.passwd_file ${cfg.passwd_file}: ${(err as Error).message}; mount the host's passwd there or drop 'passwd' from backend.sources`);
      }
      const e = parsePasswd(text).get(name);
      if (e) return { name, ...e, source };
    }
  }
  return undefined;
}

/** A name that is safe as one path segment (POSIX user names, useradd's default rule, and a bit more). */
const PATH_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*\$?$/;

function expandHome(template: string, name: string, key: string): string {
  if (!template.includes('{username}')) return template;
  if (!PATH_NAME.test(name) || name === '.' || name === '..') {
    throw new SpawnError('backend', `user name "${name}" cannot be used in backend.${key} (${template}): give the user a POSIX name or a home in backend.users`);
  }
  return template.split('{username}').join(name);
}

/**
 * The host home: backend.users.<name>.home when the table gives one (the admin's word for that user),
 * else the backend.home template — the host's layout, as SystemUserSpawner's host_homedir_format_string.
 */
export function hostHome(cfg: SystemUserConfig, user: SystemUser): string {
  return user.source === 'table' && user.home ? user.home : expandHome(cfg.home, user.name, 'home');
}

/**
 * The spec running as `user`: the home volume replaced by a bind mount of the host home (which must
 * exist: Berth never creates a host home) at home_target; NB_USER / NB_UID / NB_GID and HOME; the
 * process as uid:gid, or as root with run_as_root so the image's start script drops to NB_UID.
 */
export function systemUserSpec(spec: ServerSpec, cfg: SystemUserConfig, user: SystemUser, exists: (path: string) => boolean = existsSync): ServerSpec {
  const source = hostHome(cfg, user);
  if (!exists(source)) {
    throw new SpawnError('backend', `home ${source} of system user ${user.name} does not exist on the host: create it (useradd -m ${user.name}) or fix backend.home`);
  }
  const target = expandHome(cfg.home_target, user.name, 'home_target');
  const home: ServerMount = { type: 'bind', source, target };
  // docker.volumes stay; the home volume is replaced (a bind mount is never created by the backend)
  const mounts = [home, ...spec.mounts.filter((m) => !m.home)];
  const runAs = cfg.run_as_root ? '0' : `${user.uid}:${user.gid}`;
  const env = { ...spec.env, NB_USER: user.name, NB_UID: String(user.uid), NB_GID: String(user.gid), HOME: target };
  // the base hash already covers the rest (and leaves out per-spawn secrets); who and where are added
  const hash = createHash('sha256').update(JSON.stringify([spec.configHash, runAs, user.uid, user.gid, source, target])).digest('hex').slice(0, 16);
  return { ...spec, mounts, env, runAs, workingDir: target, configHash: hash, labels: { ...spec.labels, 'berth.config-hash': hash } };
}

/** What the last login stored about the user's POSIX identity (undefined when nothing). */
export async function posixClaims(ctx: Pick<AppContext, 'db'>, userId: number): Promise<PosixClaims | undefined> {
  const [row] = await ctx.db.select().from(schema.userAuth).where(eq(schema.userAuth.userId, userId));
  return row ? { uid: row.posixUid, gid: row.posixGid, home: row.homeDir } : undefined;
}

/** The spawn's step for backend.kind system-user: resolve the user, then shape the spec (runner.ts). */
export async function systemUserSpawnSpec(ctx: Pick<AppContext, 'db' | 'config' | 'backend'>, spec: ServerSpec, userId: number): Promise<ServerSpec> {
  // A reload that changes backend.kind leaves new spawns on this backend until a restart (serve.ts says
  // so): they keep the system-user settings it runs with rather than failing for want of them.
  const cfg = (ctx.backend as { systemUsers?: () => SystemUserConfig | undefined }).systemUsers?.() ?? ctx.config.backend;
  if (cfg.kind !== 'system-user') throw new SpawnError('backend', `backend.kind is ${cfg.kind}, not system-user`);
  const needsClaims = cfg.sources.includes('claims');
  const user = resolveSystemUser(cfg, spec.user, needsClaims ? await posixClaims(ctx, userId) : undefined);
  return systemUserSpec(spec, cfg, user);
}
