// The user's spawn choice (user_options.profile / user_options.image) resolved against the config in
// force: the overrides a spec is built with, or a typed error saying what this user may choose.
import type { Config } from '../config/schema.ts';
import type { Profile } from '../config/profiles-schema.ts';
import { forbidden, invalid, ServiceError, SpawnError } from '../errors.ts';

export interface Chooser { name: string; groups: readonly string[]; admin?: boolean }

/** What a choice changes in the spec; unset fields keep spawner.*. */
export interface SpawnOverrides {
  profile?: string;
  image?: string;
  memLimit?: string | number;
  memGuarantee?: string | number;
  cpuLimit?: number;
  cpuGuarantee?: number;
  volumes: Profile['volumes'];
  environment: Record<string, string>;
}

/** Whether a profile is offered to this user (no groups and no users: everyone). */
export function profileVisible(p: Profile, user: Chooser): boolean {
  if (!p.groups.length && !p.users.length) return true;
  return p.users.includes(user.name) || p.groups.some((g) => user.groups.includes(g));
}

export function visibleProfiles(config: Config, user: Chooser): Profile[] {
  return config.spawner.profiles.filter((p) => profileVisible(p, user));
}

/** The images a user may pick, display name → image (a plain list names each image by itself). */
export function allowedImages(config: Config): Record<string, string> {
  const a = config.spawner.allowed_images;
  if (!a) return { [config.spawner.image]: config.spawner.image };
  return Array.isArray(a) ? Object.fromEntries(a.map((i) => [i, i])) : { ...a };
}

/** JupyterHub's options_from_form: every form field becomes one value (the first), never a list. */
export function optionsFromForm(form: Record<string, string | string[] | File | (string | File)[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

function pickImage(config: Config, wanted: unknown): string | undefined {
  if (wanted === undefined || wanted === null || wanted === '') return undefined;
  const allowed = allowedImages(config);
  // DockerSpawner accepts the display name or the image itself
  const image = typeof wanted === 'string' ? (allowed[wanted] ?? (Object.values(allowed).includes(wanted) ? wanted : undefined)) : undefined;
  if (image === undefined) throw invalid(`image ${JSON.stringify(wanted)} is not allowed; choose one of: ${Object.keys(allowed).join(', ')}`);
  return image;
}

/**
 * The overrides for this user's options. Unknown profile or image → Invalid (400, naming what is
 * allowed); a profile outside the user's groups → Forbidden (403). No profile named → the default
 * profile among those visible (or the first visible one), else spawner.* as is. With no profiles
 * configured a profile key is ignored (opaque user_options, as today).
 */
export function resolveSpawnOptions(config: Config, user: Chooser, options: Record<string, unknown> = {}): SpawnOverrides {
  const wantedProfile = options['profile'];
  const all = config.spawner.profiles;
  const visible = visibleProfiles(config, user);
  let profile: Profile | undefined;
  // With no profiles configured, user_options stay opaque as in JupyterHub: a "profile" key is kept, not judged.
  if (all.length && wantedProfile !== undefined && wantedProfile !== null && wantedProfile !== '') {
    profile = all.find((p) => p.slug === wantedProfile);
    if (!profile) throw invalid(`profile ${JSON.stringify(wantedProfile)} does not exist; choose one of: ${visible.map((p) => p.slug).join(', ') || '(none offered to you)'}`);
    if (!profileVisible(profile, user)) throw forbidden(`profile ${profile.slug} is not offered to ${user.name}; choose one of: ${visible.map((p) => p.slug).join(', ') || '(none)'}`);
  } else if (all.length) {
    profile = visible.find((p) => p.default) ?? visible[0];
    if (!profile) throw forbidden(`no profile is offered to ${user.name}: ask an admin to add you to a profile's groups`);
  }
  const image = pickImage(config, options['image']);
  if (image !== undefined && profile?.image !== undefined && image !== profile.image) {
    throw invalid(`profile ${profile.slug} runs ${profile.image}; leave out image or pick a profile without one`);
  }
  const out: SpawnOverrides = { volumes: profile?.volumes ?? [], environment: { ...(profile?.environment ?? {}) } };
  if (profile) out.profile = profile.slug;
  const img = image ?? profile?.image;
  if (img !== undefined) out.image = img;
  if (profile?.mem_limit !== undefined) out.memLimit = profile.mem_limit;
  if (profile?.mem_guarantee !== undefined) out.memGuarantee = profile.mem_guarantee;
  if (profile?.cpu_limit !== undefined) out.cpuLimit = profile.cpu_limit;
  if (profile?.cpu_guarantee !== undefined) out.cpuGuarantee = profile.cpu_guarantee;
  return out;
}

/**
 * The same resolution at spawn time: the config may have changed since the request, so a choice that
 * is no longer allowed fails the spawn with the reason rather than starting something else.
 */
export function spawnOverridesNow(config: Config, user: { name: string; groupNames: string[]; admin: boolean }, options: Record<string, unknown> | null | undefined): SpawnOverrides {
  try {
    return resolveSpawnOptions(config, { name: user.name, groups: user.groupNames, admin: user.admin }, options ?? {});
  } catch (e) {
    if (e instanceof ServiceError) throw new SpawnError('create', `Spawn refused: ${e.message}`, { cause: e });
    throw e;
  }
}
