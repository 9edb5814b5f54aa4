// LDAPAuthenticator (jupyterhub-ldapauthenticator) for OpenLDAP and Active Directory: a username +
// password form checked by binding as the user — through bind_dn_template, or after finding their
// DN with a search (lookup_dn) — then their POSIX identity, groups and chosen attributes read as
// them. The allowed_groups rule is the provider's own; everything else is the policy's.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Claims, type FormProvider, type ProviderDeps } from '../types.ts';
import type { ldapConfig } from './config.ts';
import { closeQuietly, openConnection, type LdapConnection, type Target } from './connection.ts';
import { escapeDnValue, fillTemplate } from './escape.ts';
import { findGroups, lookupUser, readUser, tryBind } from './directory.ts';
import { ResultCodeError } from 'ldapts';

type LdapEntry = z.infer<typeof ldapConfig>;

const CONNECT_TIMEOUT_MS = 5_000;
const OPERATION_TIMEOUT_MS = 10_000;

const UNREACHABLE = 'The directory server could not be reached';
const hint = 'Try again in a moment. If it keeps failing, ask the hub administrator.';

/** Reads tls_ca_file once; a problem is kept and reported at each login (the login page still renders). */
function readCa(entry: LdapEntry): { ca?: Buffer; problem?: string } {
  if (!entry.tls_ca_file) return {};
  try {
    const ca = readFileSync(entry.tls_ca_file);
    if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) return { problem: `tls_ca_file ${entry.tls_ca_file} holds no PEM certificate` };
    return { ca };
  } catch (err) {
    return { problem: `tls_ca_file ${entry.tls_ca_file} cannot be read: ${(err as Error).message}` };
  }
}

export function ldapProvider(entry: LdapEntry, _config: Config, deps: ProviderDeps): FormProvider {
  const name = entry.name ?? 'ldap';
  const log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}) => deps.log[level](msg, { provider: name, ...fields });
  const { ca, problem: caProblem } = readCa(entry);
  if (caProblem) log('error', 'LDAP provider cannot verify its server', { detail: caProblem });
  if (entry.tls === 'none') log('warn', 'LDAP provider sends passwords unencrypted (tls: none); use ldaps or starttls', { server: entry.server_address });
  if (entry.lookup_dn && entry.bind_dn_template.length) log('warn', 'bind_dn_template is not used with lookup_dn: the DN found is bound');
  const usernameRe = new RegExp(entry.valid_username_regex);
  const target: Target = {
    host: entry.server_address,
    port: entry.server_port ?? (entry.tls === 'ldaps' ? 636 : 389),
    tls: entry.tls,
    ca,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    timeoutMs: OPERATION_TIMEOUT_MS,
  };
  const where = `${entry.tls === 'ldaps' ? 'ldaps' : 'ldap'}://${target.host}:${target.port}${entry.tls === 'starttls' ? ' (StartTLS)' : ''}`;

  /** The login on an open connection: null when the directory says no. */
  async function authenticate(client: LdapConnection, login: string, password: string): Promise<Claims | null> {
    let candidates: string[];
    let claimName = login;
    if (entry.lookup_dn) {
      if (entry.lookup_dn_search_user) {
        const ok = await tryBind(client, entry.lookup_dn_search_user, entry.lookup_dn_search_password ?? '');
        if (ok !== true) throw new LoginError('failed', 'The directory server refused the hub’s lookup account', { hint: 'Ask the hub administrator to check lookup_dn_search_user and its password.', detail: ok.refused });
      }
      const found = await lookupUser(client, entry.user_search_base!, entry.user_attribute, login);
      if ('refused' in found) {
        log('info', 'LDAP user lookup found no single user', { user: login, detail: found.refused });
        return null;
      }
      candidates = [found.dn];
      if (entry.use_lookup_dn_username) claimName = found.name;
    } else {
      candidates = entry.bind_dn_template.map((t) => fillTemplate(t, { username: escapeDnValue(login) }));
    }

    let userDn: string | undefined;
    for (const dn of candidates) {
      const ok = await tryBind(client, dn, password);
      if (ok === true) { userDn = dn; break; }
      log('debug', 'LDAP bind refused', { user: login, detail: ok.refused });
    }
    if (!userDn) {
      log('info', 'LDAP bind failed for every DN', { user: login, tried: candidates.length });
      return null;
    }

    // Read as the user now bound: their entry, then their groups.
    const user = await readUser(client, userDn, entry.user_attribute, login, entry.auth_state_attributes);
    const groups = entry.allowed_groups.length || entry.group_search_base
      ? await findGroups(client, {
        filterTemplate: entry.group_search_filter, userDn: user.dn, username: user.name ?? claimName,
        nameAttribute: entry.group_name_attribute, allowedGroups: entry.allowed_groups, searchBase: entry.group_search_base,
      })
      : undefined;
    const problems = [...user.problems, ...(groups?.problems ?? [])];
    if (problems.length) log('warn', 'LDAP entry values not used', { user: login, problems });

    const claims: Claims = { name: claimName, authState: { dn: user.dn, attributes: user.attributes } };
    if (groups?.names) claims.groups = groups.names;
    if (groups?.allowed) claims.allowed = true;
    if (user.uid !== undefined) claims.uid = user.uid;
    if (user.gid !== undefined) claims.gid = user.gid;
    if (user.home !== undefined) claims.home = user.home;
    return claims;
  }

  return {
    type: 'form',
    kind: 'ldap',
    name,
    label: entry.label ?? 'Sign in with LDAP',
    async check({ username, password }) {
      const login = username.trim();
      // Before anything reaches the directory: a name outside the regex, and an empty password
      // (a simple bind with a DN and no password is an "unauthenticated bind", which many servers accept).
      if (!usernameRe.test(login)) {
        log('info', 'LDAP login refused: user name does not match valid_username_regex', { user: login.slice(0, 64) });
        return null;
      }
      if (!password || !password.trim()) {
        log('info', 'LDAP login refused: empty password', { user: login });
        return null;
      }
      if (caProblem) throw new LoginError('failed', UNREACHABLE, { hint: 'Ask the hub administrator to check tls_ca_file.', detail: caProblem });
      let client: LdapConnection;
      try {
        client = await openConnection(target);
      } catch (err) {
        throw new LoginError('failed', UNREACHABLE, { hint, detail: `${where}: ${(err as Error).message}`, cause: err });
      }
      try {
        return await authenticate(client, login, password);
      } catch (err) {
        if (err instanceof LoginError) throw err;
        if (err instanceof ResultCodeError) {
          throw new LoginError('failed', 'The directory server refused a search', { hint, detail: `${where}: (${err.code}) ${err.message}`, cause: err });
        }
        throw new LoginError('failed', UNREACHABLE, { hint, detail: `${where}: ${(err as Error).message}`, cause: err });
      } finally {
        await closeQuietly(client);
      }
    },
  };
}
