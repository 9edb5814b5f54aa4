// What a configured service means once its defaults are applied (JupyterHub's Service traits):
// its public prefix, its proxy target, its OAuth client, and who may log in to it through the hub.
import { eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import type { Config } from '../../config/schema.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { schema } from '../../../db/client.ts';
import { listed } from '../../auth/normalize.ts';

export type ServiceConfig = Config['services'][number];

/** Service.prefix: `<base_url>services/<name>/` (names are URL-safe by the config schema). */
export const servicePrefix = (baseUrl: string, name: string) => `${baseUrl}services/${name}/`;

/** scopes.access_scopes for a service's OAuth client. */
export const serviceAccessScope = (name: string) => `access:services!service=${name}`;

/** JupyterHub's description of a service's OAuth client, shown on the consent and 403 pages. */
export const serviceClientDescription = (name: string) => `JupyterHub service ${name}`;

export interface ServiceOAuth {
  clientId: string;
  redirectUri: string;
  /** oauth_client_allowed_scopes plus the access scope, sorted (JupyterHub's allowed_scopes). */
  allowedScopes: string[];
  noConfirm: boolean;
}

/**
 * The service's OAuth client, or undefined when it has none. JupyterHub's `oauth_available`: a
 * service has OAuth when it has a url, or when an OAuth key is set explicitly.
 */
export function serviceOAuth(s: ServiceConfig, baseUrl: string): ServiceOAuth | undefined {
  const explicit = s.oauth_client_id !== undefined || s.oauth_redirect_uri !== undefined || s.oauth_no_confirm === true;
  if (!s.url && !explicit) return undefined;
  // the schema refuses OAuth settings with neither url nor redirect URI
  const redirectUri = s.oauth_redirect_uri ?? `${servicePrefix(baseUrl, s.name)}oauth_callback`;
  return {
    clientId: s.oauth_client_id ?? `service-${s.name}`,
    redirectUri,
    allowedScopes: [...new Set([...(s.oauth_client_allowed_scopes ?? []), serviceAccessScope(s.name)])].sort(),
    noConfirm: s.oauth_no_confirm ?? false,
  };
}

/** The configured service an OAuth client belongs to (live config: a reload applies at once). */
export const configuredService = (ctx: AppContext, name: string) => ctx.config.services.find((s) => s.name === name);

/**
 * Does the user hold `access:services!service=<name>`? Admins do (the admin role has access:services);
 * others through the service's access_all_users, access_users or access_groups (each standing for
 * a JupyterHub role that grants the scope). A service no longer configured admits nobody.
 */
export async function mayAccessService(ctx: AppContext, user: Pick<UserRow, 'id' | 'name' | 'admin'>, name: string): Promise<boolean> {
  const s = configuredService(ctx, name);
  if (!s) return false;
  if (user.admin || s.access_all_users === true || listed(s.access_users ?? [], user.name)) return true;
  const groups = s.access_groups ?? [];
  if (groups.length === 0) return false;
  const mine = await ctx.db.select({ name: schema.groups.name }).from(schema.userGroups)
    .innerJoin(schema.groups, eq(schema.groups.id, schema.userGroups.groupId))
    .where(eq(schema.userGroups.userId, user.id));
  return mine.some((g) => groups.includes(g.name));
}
