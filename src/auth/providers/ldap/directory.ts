// The directory operations of one LDAP login, on one open connection: find the user's DN
// (lookup_dn), bind as them, read their entry, find their groups. Values from the login form are
// escaped here (escape.ts) and nowhere else.
import { NoSuchObjectError, ResultCodeError, SizeLimitExceededError, type Client, type Entry } from 'ldapts';
import { escapeFilterValue, fillTemplate } from './escape.ts';

/** An entry's values of `attr` as strings, the attribute name matched case-insensitively. */
export function values(entry: Entry, attr: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  const v = key && key !== 'dn' ? entry[key] : undefined;
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

/** Of an entry's `attr` values, the one that is `name` up to case, else its only value. */
function spelling(entry: Entry, attr: string, name: string): string | undefined {
  const vs = values(entry, attr);
  return vs.find((v) => v.toLowerCase() === name.toLowerCase()) ?? (vs.length === 1 ? vs[0] : undefined);
}

export type Lookup = { dn: string; name: string } | { refused: string };

/** lookup_dn: the one entry under `base` whose `attr` equals `login`, and the directory's spelling of it. */
export async function lookupUser(client: Client, base: string, attr: string, login: string): Promise<Lookup> {
  let entries: Entry[];
  try {
    ({ searchEntries: entries } = await client.search(base, { scope: 'sub', filter: `(${attr}=${escapeFilterValue(login)})`, attributes: [attr], sizeLimit: 2 }));
  } catch (err) {
    if (err instanceof SizeLimitExceededError) return { refused: `more than one entry under ${base} has ${attr}=${login}` };
    throw err;
  }
  if (entries.length === 0) return { refused: `no entry under ${base} has ${attr}=${login}` };
  if (entries.length > 1) return { refused: `${entries.length} entries under ${base} have ${attr}=${login}; user_attribute must be unique` };
  const name = spelling(entries[0]!, attr, login);
  if (!name) return { refused: `the entry ${entries[0]!.dn} has no single ${attr} value` };
  return { dn: entries[0]!.dn, name };
}

/**
 * Simple bind as `dn`: true, or `refused` with the directory's reason (wrong password, no such
 * entry, account locked…). Anything else (connection lost, timeout) is thrown.
 */
export async function tryBind(client: Client, dn: string, password: string): Promise<true | { refused: string }> {
  try {
    await client.bind(dn, password);
    return true;
  } catch (err) {
    if (err instanceof ResultCodeError) return { refused: `bind as ${dn} refused (${err.code}): ${err.message}` };
    throw err;
  }
}

export interface UserEntry {
  dn: string;
  /** The user attribute's value as the directory spells it (undefined when unreadable). */
  name: string | undefined;
  uid: number | undefined;
  gid: number | undefined;
  home: string | undefined;
  attributes: Record<string, string[]>;
  /** Values that could not be used, for the log. */
  problems: string[];
}

const posixId = (v: string | undefined) => (v !== undefined && /^\d{1,10}$/.test(v) && Number(v) <= 0xffffffff ? Number(v) : undefined);

/** The bound user's own entry: POSIX identity and the auth_state_attributes. Unreadable: all empty. */
export async function readUser(client: Client, dn: string, userAttribute: string, login: string, stateAttributes: readonly string[]): Promise<UserEntry> {
  const wanted = [userAttribute, 'uidNumber', 'gidNumber', 'homeDirectory', ...stateAttributes];
  const { searchEntries } = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [...new Set(wanted)] });
  const e = searchEntries[0];
  const out: UserEntry = { dn, name: undefined, uid: undefined, gid: undefined, home: undefined, attributes: {}, problems: [] };
  if (!e) {
    out.problems.push(`the user cannot read their own entry ${dn}`);
    return out;
  }
  out.dn = e.dn;
  out.name = spelling(e, userAttribute, login);
  for (const [attr, key] of [['uidNumber', 'uid'], ['gidNumber', 'gid']] as const) {
    const [v, ...more] = values(e, attr);
    out[key] = more.length ? undefined : posixId(v);
    if (v !== undefined && out[key] === undefined) out.problems.push(`${attr} ${[v, ...more].join(', ')} is not one POSIX id`);
  }
  const home = values(e, 'homeDirectory');
  if (home.length === 1 && home[0]!.startsWith('/')) out.home = home[0];
  else if (home.length) out.problems.push(`homeDirectory ${home.join(', ')} is not one absolute path`);
  for (const a of stateAttributes) out.attributes[a] = values(e, a);
  return out;
}

export interface GroupQuery {
  filterTemplate: string;
  userDn: string;
  /** The user attribute's value, for `{username}`. */
  username: string;
  nameAttribute: string;
  allowedGroups: readonly string[];
  searchBase: string | undefined;
}

export interface Groups {
  /** A member of one of the allowed groups. */
  allowed: boolean;
  /** Group names: all found under searchBase, else the allowed groups the user is in; undefined when neither is configured. */
  names: string[] | undefined;
  problems: string[];
}

const groupName = (e: Entry, attr: string) => values(e, attr)[0] ?? e.dn;

/** allowed_groups (each group DN searched with the filter, base scope) and the groups under group_search_base. */
export async function findGroups(client: Client, q: GroupQuery): Promise<Groups> {
  const filter = fillTemplate(q.filterTemplate, { userdn: escapeFilterValue(q.userDn), username: escapeFilterValue(q.username) });
  const problems: string[] = [];
  const memberOf: string[] = [];
  for (const group of q.allowedGroups) {
    try {
      const { searchEntries } = await client.search(group, { scope: 'base', filter, attributes: [q.nameAttribute] });
      if (searchEntries[0]) memberOf.push(groupName(searchEntries[0], q.nameAttribute));
    } catch (err) {
      if (!(err instanceof NoSuchObjectError)) throw err;
      problems.push(`allowed group ${group} does not exist`);
    }
  }
  let names: string[] | undefined = q.allowedGroups.length ? memberOf : undefined;
  if (q.searchBase) {
    const { searchEntries } = await client.search(q.searchBase, { scope: 'sub', filter, attributes: [q.nameAttribute] });
    names = searchEntries.map((e) => groupName(e, q.nameAttribute));
  }
  return { allowed: memberOf.length > 0, names, problems };
}
