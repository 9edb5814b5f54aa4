// Names in a group request → user ids (normalised as at login); an unknown name is 400 "No such
// user", as JupyterHub answers.
import { inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { invalid } from '../../errors.ts';
import { normalizeLogin } from '../../auth/normalize.ts';
import type { Tx } from './set-user-groups.ts';

/** User ids for names (normalised as at login); an unknown name → 400 "No such user", as JupyterHub. */
export async function userIds(tx: Tx, ctx: AppContext, names: string[]): Promise<number[]> {
  const wanted = names.map((n) => normalizeLogin(n, ctx.config.auth.username_map) ?? n);
  const rows = wanted.length ? await tx.select({ id: schema.users.id, name: schema.users.name }).from(schema.users).where(inArray(schema.users.name, wanted)) : [];
  const missing = wanted.find((n) => !rows.some((r) => r.name === n));
  if (missing !== undefined) throw invalid(`No such user: ${missing}`);
  return rows.map((r) => r.id);
}

export function validGroupName(name: string): boolean {
  // a slash is fine (GitLab's dept/lab; %2F in the URL), control characters and edge spaces are not
  return name.length > 0 && name.length <= 255 && !/[\x00-\x1f\x7f]/.test(name) && name.trim() === name;
}
