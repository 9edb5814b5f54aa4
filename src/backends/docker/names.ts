// Docker object names for a server: container `<prefix>-<user>[--<server>]` and the home volume,
// built with an injective escaping so two different (user, server) pairs never share a name.

/**
 * Escapes into Docker's name charset [a-zA-Z0-9_.-]: [a-z0-9] stay, every other UTF-8 byte —
 * including '-', '_', '.' and upper case — becomes `_xx` (lower-case hex). '_' itself is escaped,
 * so decoding is unambiguous (injective), and the output never contains '-', which keeps the
 * `--` separator between user and server unambiguous too.
 */
export function escapeDockerName(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const isSafe = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39);
    out += isSafe ? String.fromCharCode(byte) : '_' + byte.toString(16).padStart(2, '0');
  }
  return out;
}

/** Inverse of escapeDockerName (used by tests to prove injectivity, and for diagnostics). */
export function unescapeDockerName(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '_') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `jupyter-alice` for the default server, `jupyter-alice--lab` for a named one. */
export function containerName(prefix: string, user: string, serverName: string): string {
  return `${prefix}-${escapeDockerName(user)}${serverName ? `--${escapeDockerName(serverName)}` : ''}`;
}

/** Docker refuses volume names outside this pattern (e.g. a template that starts with `{username}` and a user `_x`). */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The home volume from the `{username}` template, with the same escaping as the container name. */
export function homeVolumeName(template: string, user: string): string {
  return template.split('{username}').join(escapeDockerName(user));
}
