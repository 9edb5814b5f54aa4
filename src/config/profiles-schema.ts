// spawner.allowed_images (DockerSpawner.allowed_images) and spawner.profiles (KubeSpawner.profile_list):
// what a user may choose at spawn time. Checked whole at load, so a bad list fails at start-up.
import { z } from 'zod';
import { byteSize, mountSchema, sizeInBytes } from './mount-schema.ts';

/** A list of images, or display name → image; a user picks one with user_options {"image": "..."}. */
export const allowedImagesSchema = z.union([
  z.array(z.string().min(1)).min(1, 'list at least one image, or leave allowed_images unset (only spawner.image)'),
  z.record(z.string().min(1), z.string().min(1)).refine((m) => Object.keys(m).length > 0, 'map at least one display name to an image, or leave allowed_images unset'),
]);

const bytes = (v: string | number) => (typeof v === 'number' ? v : sizeInBytes(v));

export const profileSchema = z
  .object({
    /** What user_options.profile names (KubeSpawner's slug). */
    slug: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)'),
    display_name: z.string().min(1),
    description: z.string().default(''),
    /** Chosen when user_options name no profile. */
    default: z.boolean().default(false),
    /** Unset: spawner.image. */
    image: z.string().min(1).optional(),
    cpu_limit: z.number().positive().optional(),
    cpu_guarantee: z.number().positive().optional(),
    mem_limit: byteSize.optional(),
    mem_guarantee: byteSize.optional(),
    /** Mounts added after docker.volumes; `{username}` / `{servername}` templated. */
    volumes: z.array(mountSchema).default([]),
    /** Added after spawner.environment (wins over it). */
    environment: z.record(z.string(), z.string()).default({}),
    /** Offered only to members of one of these groups (empty with empty users: everyone). */
    groups: z.array(z.string().min(1)).default([]),
    /** Offered also to these users by name. */
    users: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.mem_guarantee !== undefined && p.mem_limit !== undefined && bytes(p.mem_guarantee) > bytes(p.mem_limit)) {
      ctx.addIssue({ code: 'custom', path: ['mem_guarantee'], message: 'must not be more than mem_limit' });
    }
    if (p.cpu_guarantee !== undefined && p.cpu_limit !== undefined && p.cpu_guarantee > p.cpu_limit) {
      ctx.addIssue({ code: 'custom', path: ['cpu_guarantee'], message: 'must not be more than cpu_limit' });
    }
    const targets = p.volumes.map((v) => v.target);
    targets.forEach((t, i) => {
      if (targets.indexOf(t) !== i) ctx.addIssue({ code: 'custom', path: ['volumes', i, 'target'], message: `${t} is mounted twice in this profile` });
    });
  });

export const profilesSchema = z.array(profileSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (seen.has(p.slug)) ctx.addIssue({ code: 'custom', path: [i, 'slug'], message: `duplicate slug "${p.slug}": each profile needs its own` });
    seen.add(p.slug);
  });
  const defaults = list.filter((p) => p.default).map((p) => p.slug);
  if (defaults.length > 1) ctx.addIssue({ code: 'custom', message: `${defaults.join(', ')} are all default: mark at most one profile default` });
});

export type Profile = z.infer<typeof profileSchema>;

/**
 * Problems across sections: a profile mount on the home dir or on a docker.volumes target would
 * shadow it (the engine refuses two mounts on one target at the first spawn; say so at load).
 */
export function profileProblems(config: { spawner: { profiles: Profile[] }; docker: { home_dir: string; volumes: { target: string }[] } }): string[] {
  const taken = new Map<string, string>([[config.docker.home_dir, 'docker.home_dir'], ...config.docker.volumes.map((v) => [v.target, 'docker.volumes'] as [string, string])]);
  return config.spawner.profiles.flatMap((p, i) => p.volumes.flatMap((v, j) => {
    const owner = taken.get(v.target);
    return owner ? [`spawner.profiles.${i}.volumes.${j}.target: ${v.target} is already mounted by ${owner}; pick another target`] : [];
  }));
}
