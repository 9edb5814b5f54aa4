// JupyterHub's group model, keys limited to what the caller's scopes allow on that group.
import { grants, type ScopeSet } from '../auth/scopes.ts';
import type { GroupRow } from '../../db/schema/index.ts';

const ACCESS: readonly [string, readonly string[]][] = [
  ['read:groups', ['kind', 'name', 'properties', 'users']],
  ['read:groups:name', ['kind', 'name']],
  ['read:roles:groups', ['kind', 'name', 'roles']],
];

export function groupModel(group: GroupRow, users: string[], scopes: ScopeSet): Record<string, unknown> {
  const keys = new Set<string>();
  for (const [scope, fields] of ACCESS) if (grants(scopes, scope, { group: group.name })) for (const f of fields) keys.add(f);
  // Berth has no group roles yet: "roles" is always empty
  const full: Record<string, unknown> = { kind: 'group', name: group.name, roles: [], users, properties: group.properties };
  const model: Record<string, unknown> = {};
  for (const k of Object.keys(full)) if (keys.has(k)) model[k] = full[k];
  return model;
}
