// Pieces spawner.*, docker.* and profiles share: the mount schema, the volume-name template check, sizes.
import { z } from 'zod';

/** "2G", "512M", or a number of bytes (DockerSpawner's mem_limit). */
export const byteSize = z.union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*[kKmMgGtT]?[bB]?$/, 'a size like 512M or 2G')]);

/** A byteSize string in bytes (powers of 1024), as src/spawn/spec.ts parseByteSize reads it. */
export function sizeInBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)/.exec(v.trim());
  return m ? Number(m[1]) * 1024 ** ' kmgt'.indexOf((m[2] || ' ').toLowerCase()) : NaN;
}

/** A volume name template: Docker's charset once `{username}` / `{servername}` are replaced (they expand to [a-z0-9_]). */
const PLACEHOLDER = /\{(username|servername)\}/g;
export function volumeTemplateProblem(t: string): string | undefined {
  if (!/^[a-zA-Z0-9]/.test(t)) return 'must start with a letter or digit (an escaped name may start with _, which Docker refuses)';
  if (!/^[a-zA-Z0-9_.-]*$/.test(t.replace(PLACEHOLDER, 'a'))) return 'only letters, digits, _ . - and {username} / {servername}';
  // Escaped names hold no '-' or '.': one of those between two placeholders keeps the names apart.
  const between = t.split(PLACEHOLDER).filter((_, i) => i % 2 === 0).slice(1, -1);
  if (between.some((lit) => !/[-.]/.test(lit))) return 'put a - or . between {username} and {servername}, or two users could share a volume';
  return undefined;
}

/** One extra mount (DockerSpawner.volumes / mounts). */
export const mountSchema = z
  .object({
    /** A volume name, or for a bind an absolute host path; `{username}` / `{servername}` templated (escaped as in container names). */
    source: z.string().min(1),
    /** Where it appears in the container. */
    target: z.string().startsWith('/'),
    read_only: z.boolean().default(false),
    /** volume: a named volume (the engine creates a missing one; Berth never labels or removes it); bind: a host path that must exist. */
    type: z.enum(['volume', 'bind']).default('volume'),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.type === 'bind' && !m.source.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['source'], message: 'a bind source must be an absolute host path' });
    const problem = m.type === 'volume' ? volumeTemplateProblem(m.source) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: ['source'], message: `a volume name ${problem}` });
  });

