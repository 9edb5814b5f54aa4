// Derived names that must stay consistent with one another (spec A.3).

/** Python's quote(): encodeURIComponent also escapes !'()* ; `safe` characters stay as they are. */
function pyQuote(s: string, safe: string): string {
  let out = encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  for (const ch of safe) out = out.split(encodeURIComponent(ch)).join(ch);
  return out;
}

/** url_escape_path: user and server names in URL paths, only @ and ~ left unescaped. */
export const escapePath = (name: string) => pyQuote(name, '@~');

/** OAuth client id: jupyterhub-user-<quote(name)>[-<quote(server)>], where @ becomes %40. */
export const oauthClientId = (user: string, server: string) =>
  `jupyterhub-user-${pyQuote(user, '/')}${server ? '-' + pyQuote(server, '/') : ''}`;

/** /user/alice/ or /user/alice/srv1/ under the base URL. */
export const userPrefix = (baseUrl: string, user: string) => `${baseUrl}user/${escapePath(user)}/`;
export const serverPrefix = (baseUrl: string, user: string, server: string) =>
  userPrefix(baseUrl, user) + (server ? `${escapePath(server)}/` : '');

/** How JupyterHub names a server in messages: "alice", or "alice:srv1" for a named one. */
export const serverLabel = (user: string, server: string) => (server ? `${user}:${server}` : user);

export const hubPrefix = (baseUrl: string) => `${baseUrl}hub/`;

export const progressUrl = (baseUrl: string, user: string, server: string) =>
  `${hubPrefix(baseUrl)}api/users/${escapePath(user)}/${server ? `servers/${escapePath(server)}/` : 'server/'}progress`;

/**
 * JupyterHub's normalize_username: names are lower-cased wherever a user is created or logs in, so
 * "Alice" logging in and an admin creating "Alice" through the API both mean the user "alice".
 */
export const normalizeUserName = (name: string) => name.toLowerCase();

/** Half of a UTF-16 surrogate pair without its other half (not text; encodeURIComponent throws on it). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * User names Berth accepts. JupyterHub normalises to lower case; we refuse what could break a path,
 * a header or a container name instead of silently rewriting it.
 */
export function validUserName(name: string): boolean {
  // a lone surrogate would break escapePath and the OAuth client id at spawn
  return name.length > 0 && name.length <= 255 && !LONE_SURROGATE.test(name) && !/[\s/\\\x00-\x1f\x7f]/.test(name) && name !== '.' && name !== '..';
}

export function validServerName(name: string): boolean {
  return name.length <= 255 && !LONE_SURROGATE.test(name) && !/[\s/\\\x00-\x1f\x7f]/.test(name);
}
