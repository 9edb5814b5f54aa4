// JupyterHub's scope model (spec C): parse, expand sub-scopes, resolve `!user`/`!server` filters,
// intersect a token's scopes with its owner's, and answer "may this identity do X to resource R".
// Pure functions over small structures: this sits on the token-check hot path.

export type FilterKind = 'user' | 'server' | 'group' | 'service';
/** One scope name with what it covers: everything, or the union of its filters. */
export interface ScopeGrant {
  all: boolean;
  user: Set<string>;
  server: Set<string>;
  group: Set<string>;
  service: Set<string>;
}
export type ScopeSet = Map<string, ScopeGrant>;

const SUBSCOPES: Record<string, string[]> = {
  'admin:users': ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  users: ['read:users', 'list:users', 'users:activity'],
  'read:users': ['read:users:name', 'read:users:groups', 'read:users:activity'],
  'list:users': ['read:users:name'],
  'users:activity': ['read:users:activity'],
  'admin:servers': ['admin:server_state', 'servers'],
  servers: ['read:servers', 'delete:servers'],
  'read:servers': ['read:users:name'],
  tokens: ['read:tokens'],
  'admin:groups': ['groups', 'read:roles:groups', 'delete:groups'],
  groups: ['read:groups', 'list:groups'],
  'list:groups': ['read:groups:name'],
  'read:groups': ['read:groups:name'],
  'read:roles': ['read:roles:users', 'read:roles:services', 'read:roles:groups'],
  'list:services': ['read:services:name'],
  'read:services': ['read:services:name'],
  'admin:services': ['list:services', 'read:services', 'read:roles:services'],
};

/** The `admin` role (JupyterHub 5). */
export const ADMIN_SCOPES = [
  'admin-ui', 'admin:users', 'admin:servers', 'tokens', 'admin:groups', 'list:services', 'read:services',
  'read:hub', 'proxy', 'shutdown', 'access:services', 'access:servers', 'read:roles', 'read:metrics', 'admin:services',
];

/** `self` for a user (spec C.2). */
const SELF_SCOPES = [
  'read:users', 'read:users:name', 'read:users:groups', 'users:activity', 'read:users:activity', 'servers',
  'delete:servers', 'read:servers', 'tokens', 'read:tokens', 'access:servers',
];

/** Every scope name Berth knows, for validating requested scopes. */
export const KNOWN_SCOPES = new Set<string>([
  ...Object.keys(SUBSCOPES), ...Object.values(SUBSCOPES).flat(), ...ADMIN_SCOPES, ...SELF_SCOPES,
  'self', 'inherit', 'identify', 'read:hub', 'access:services', 'read:metrics', 'admin:server_state',
]);

export interface Owner {
  kind: 'user' | 'service';
  name: string;
  admin: boolean;
  /** For a service: the scopes config grants it. */
  scopes?: string[];
}

const emptyGrant = (): ScopeGrant => ({ all: false, user: new Set(), server: new Set(), group: new Set(), service: new Set() });

export function parseScope(s: string): { name: string; kind?: FilterKind | undefined; value?: string | undefined } {
  const bang = s.indexOf('!');
  if (bang < 0) return { name: s };
  const filter = s.slice(bang + 1);
  const eq = filter.indexOf('=');
  const kind = (eq < 0 ? filter : filter.slice(0, eq)) as FilterKind;
  return { name: s.slice(0, bang), kind, value: eq < 0 ? undefined : filter.slice(eq + 1) };
}

/** Is this a scope string Berth understands (name known, filter well formed)? */
export function isValidScope(s: string): boolean {
  const p = parseScope(s);
  if (!KNOWN_SCOPES.has(p.name)) return false;
  if (p.kind === undefined) return true;
  return ['user', 'server', 'group', 'service'].includes(p.kind);
}

function add(set: ScopeSet, name: string, kind?: FilterKind, value?: string) {
  let g = set.get(name);
  if (!g) set.set(name, (g = emptyGrant()));
  if (!kind) g.all = true;
  else if (value !== undefined) g[kind].add(value);
}

function addExpanded(set: ScopeSet, name: string, kind: FilterKind | undefined, value: string | undefined) {
  add(set, name, kind, value);
  for (const sub of SUBSCOPES[name] ?? []) {
    // A server filter is not copied onto the read:users… sub-scopes (spec C.2).
    if (kind === 'server' && sub.startsWith('read:users')) continue;
    addExpanded(set, sub, kind, value);
  }
}

/** The owner's own scopes: roles user=[self], admin=[admin scopes], service=its configured scopes. */
export function ownerRawScopes(owner: Owner): string[] {
  if (owner.kind === 'service') return owner.admin ? [...ADMIN_SCOPES, ...(owner.scopes ?? [])] : owner.scopes ?? [];
  return owner.admin ? [...ADMIN_SCOPES, 'self'] : ['self'];
}

/**
 * Expands raw scopes: metascopes (`self`, `inherit`), unresolved filters (`!user` → the owner,
 * `!server` → the client's server), and sub-scopes.
 */
export function expandScopes(raw: readonly string[], owner: Owner, clientServer?: string): ScopeSet {
  const out: ScopeSet = new Map();
  for (const s of raw) {
    if (s === 'identify' || s === '(no_scope)') continue;
    if (s === 'inherit') {
      for (const [k, g] of expandScopes(ownerRawScopes(owner), owner, clientServer)) out.set(k, mergeGrant(out.get(k), g));
      continue;
    }
    if (s === 'self') {
      if (owner.kind === 'user') for (const n of SELF_SCOPES) addExpanded(out, n, 'user', owner.name);
      continue;
    }
    const p = parseScope(s);
    let { kind, value } = p;
    if (kind && value === undefined) {
      if (kind === 'user' && owner.kind === 'user') value = owner.name;
      else if (kind === 'service' && owner.kind === 'service') value = owner.name;
      else if (kind === 'server' && clientServer !== undefined) value = clientServer;
      else continue; // an unresolvable filter grants nothing
    }
    addExpanded(out, p.name, kind, value);
  }
  return out;
}

function mergeGrant(a: ScopeGrant | undefined, b: ScopeGrant): ScopeGrant {
  if (!a) return { all: b.all, user: new Set(b.user), server: new Set(b.server), group: new Set(b.group), service: new Set(b.service) };
  a.all ||= b.all;
  for (const k of ['user', 'server', 'group', 'service'] as const) for (const v of b[k]) a[k].add(v);
  return a;
}

/** Intersection of two expanded sets, as JupyterHub's `_intersect_expanded_scopes` (no DB: groups never match users). */
export function intersectScopes(a: ScopeSet, b: ScopeSet): ScopeSet {
  const out: ScopeSet = new Map();
  for (const [name, ga] of a) {
    const gb = b.get(name);
    if (!gb) continue;
    if (ga.all && gb.all) { out.set(name, { ...emptyGrant(), all: true }); continue; }
    if (ga.all || gb.all) { out.set(name, mergeGrant(undefined, ga.all ? gb : ga)); continue; }
    const g = emptyGrant();
    for (const k of ['user', 'server', 'group', 'service'] as const) for (const v of ga[k]) if (gb[k].has(v)) g[k].add(v);
    // a server=u/s on one side survives when the other side holds user=u
    for (const [x, y] of [[ga, gb], [gb, ga]] as const) for (const s of x.server) if (y.user.has(s.slice(0, s.indexOf('/')))) g.server.add(s);
    if (g.user.size || g.server.size || g.group.size || g.service.size) out.set(name, g);
  }
  return out;
}

/** What every token may read about its own owner (JupyterHub's identify_scopes). */
export function identifyScopes(owner: Owner): string[] {
  return owner.kind === 'user'
    ? [`read:users:name!user=${owner.name}`, `read:users:groups!user=${owner.name}`]
    : [`read:services:name!service=${owner.name}`];
}

/** A token's effective scopes: its expanded raw scopes, limited to what its owner currently holds. */
export function tokenScopes(raw: readonly string[], owner: Owner, clientServer?: string): ScopeSet {
  const ownerSet = expandScopes(ownerRawScopes(owner), owner);
  if (raw.length === 1 && raw[0] === 'inherit') return ownerSet;
  // JupyterHub 4+ (get_scopes_for) adds the owner's identify scopes to every token, so /api/user
  // reports them (spec H29: a server token lists read:users:name/groups!user=<n>).
  return intersectScopes(expandScopes([...raw, ...identifyScopes(owner)], owner, clientServer), ownerSet);
}

export interface Resource {
  user?: string;
  /** `user/servername` ('' for the default server). */
  server?: string;
  service?: string;
  group?: string;
}

/** Does the set grant `name` on the resource (spec C.3)? No resource means "unfiltered or any filter". */
export function grants(set: ScopeSet, name: string, resource?: Resource): boolean {
  const g = set.get(name);
  if (!g) return false;
  if (g.all) return true;
  if (!resource) return g.user.size + g.server.size + g.group.size + g.service.size > 0;
  if (resource.server !== undefined) {
    if (g.server.has(resource.server)) return true;
    const owner = resource.server.slice(0, resource.server.indexOf('/'));
    return g.user.has(owner);
  }
  if (resource.user !== undefined) return g.user.has(resource.user);
  if (resource.service !== undefined) return g.service.has(resource.service);
  if (resource.group !== undefined) return g.group.has(resource.group);
  return false;
}

/** Has the scope at all, in any form (to tell 404 "not yours" from 403 "not allowed"). */
export const holds = (set: ScopeSet, name: string) => set.has(name);

/** Sorted strings, as `/hub/api/user` reports them. */
export function formatScopes(set: ScopeSet): string[] {
  const out: string[] = [];
  for (const [name, g] of set) {
    if (g.all) { out.push(name); continue; }
    for (const k of ['user', 'server', 'group', 'service'] as const) for (const v of g[k]) out.push(`${name}!${k}=${v}`);
  }
  return out.sort();
}

/** The scopes of a freshly spawned server's own token (JupyterHub 4+/5: limited to its server). */
export function serverTokenScopes(user: string, server: string): string[] {
  return [`access:servers!server=${user}/${server}`, `users:activity!user=${user}`];
}

/** The access scopes a single-user server requires (JUPYTERHUB_OAUTH_ACCESS_SCOPES). */
export function accessScopes(user: string, server: string): string[] {
  return [`access:servers!server=${user}/${server}`, `access:servers!user=${user}`];
}
