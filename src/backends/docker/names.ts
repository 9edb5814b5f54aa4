// Docker object names for a server: container `<prefix>-<user>[--<server>]`, the home volume, and a
// DNS label (Swarm service name), built with injective escapings so two different (user, server)
// pairs never share a name, and kept within the engine's length limits.
//
// Limits (checked against moby and engine 20.10.24 on this machine):
// - Container names: moby's daemon/names accepts `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$` and sets no
//   length limit (the engine here took a 5,000-character name). But with `docker.network` the proxy
//   reaches a server at `http://<container name>:<port>` through Docker's embedded DNS, and a DNS
//   label holds at most 63 octets (RFC 1035), so names are kept to 63. Tried on this engine: on a
//   user network a 63-character container name resolves, a 70-character one does not (glibc
//   getaddrinfo: "Name or service not known"; Python's idna: "label too long").
// - Volume names: the local driver checks the same pattern (at least two characters) and makes a
//   directory of that name under /var/lib/docker/volumes, so NAME_MAX (255 bytes) applies: a
//   256-character name fails with "file name too long".
// - Swarm service names: swarmkit's validateAnnotations wants `^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$`
//   and at most 63 characters ("DNS labels are limited to 63 characters"). dnsLabel() is stricter:
//   an RFC 1123 label, lower-case [a-z0-9-], not starting or ending with '-'.
//
// A name within its limit is exactly what earlier versions produced, so existing containers and
// volumes are still found. Only a name that would overflow is shortened: a readable head of the
// escaped name, the marker `-z`, and 26 base32 characters of the SHA-256 of the WHOLE escaped name.
// Why that stays injective:
// - The escaped form (before shortening) is injective, so distinct pairs give distinct escaped
//   strings E1 ≠ E2.
// - A shortened name never equals an unshortened one: the marker `-z` never occurs in an
//   unshortened name after the prefix (see each function for why), and every shortened one has it.
// - Two shortened names are equal only if their last 26 characters, the digests, are equal, i.e.
//   SHA-256(E1) and SHA-256(E2) agree in their first 130 bits with E1 ≠ E2. Nothing else in the
//   construction can make them meet, so a clash is exactly a collision of SHA-256 truncated to 130
//   bits: about 2^65 hashing work to find any pair, 2^130 to hit a given user's name.
import { createHash } from 'node:crypto';

/** Container names and DNS labels: one DNS label (see above). */
export const CONTAINER_NAME_MAX = 63;
export const DNS_LABEL_MAX = 63;
/** The local volume driver's directory name: NAME_MAX. */
export const VOLUME_NAME_MAX = 255;

const DIGEST_CHARS = 26; // 26 × 5 = 130 bits of SHA-256
const MARKER = '-z';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'; // RFC 4648 alphabet, lower case: all in [a-z0-9]

/** The first 130 bits of SHA-256(s) in lower-case base32. */
function digest(s: string): string {
  const bytes = createHash('sha256').update(s, 'utf8').digest();
  let out = '';
  for (let i = 0; i < DIGEST_CHARS; i++) {
    const bit = i * 5;
    const pair = (bytes[bit >> 3]! << 8) | bytes[(bit >> 3) + 1]!;
    out += BASE32[(pair >> (11 - (bit & 7))) & 31];
  }
  return out;
}

/**
 * `escaped` itself when it fits in `room` characters; otherwise its head (trailing '-' dropped) +
 * `-z` + digest(escaped), exactly `room` long or shorter.
 */
function fit(escaped: string, room: number, what: string): string {
  if (escaped.length <= room) return escaped;
  const headRoom = room - MARKER.length - DIGEST_CHARS;
  if (headRoom < 0) throw new Error(`${what}: the fixed part leaves no room for a name (${room} characters)`);
  return escaped.slice(0, headRoom).replace(/-+$/, '') + MARKER + digest(escaped);
}

/**
 * The UTF-8 bytes of `s` — except that a lone surrogate (possible in a JS string, e.g. from JSON
 * `"\ud800"`) is encoded as its own three bytes ED A0..BF xx (WTF-8) instead of U+FFFD's, which
 * Buffer.from would give it, so "\ud800" and "\ufffd" stay apart. Well-formed strings give exactly
 * their UTF-8, which never contains those byte sequences.
 */
function wtf8(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return out;
}

/** Inverse of wtf8 (for the unescape functions; malformed input gives U+FFFD, never a throw). */
function fromWtf8(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    let cp = n === 1 ? b : b & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | (bytes[i + k]! & 63);
    out += Number.isInteger(cp) && cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd'; // malformed input: diagnostics only
    i += n;
  }
  return out;
}

/**
 * Escapes into Docker's name charset [a-zA-Z0-9_.-]: [a-z0-9] stay, every other UTF-8 byte —
 * including '-', '_', '.' and upper case — becomes `_xx` (lower-case hex). '_' itself is escaped,
 * so decoding is unambiguous (injective), and the output never contains '-', which keeps the
 * `--` separator between user and server unambiguous too.
 */
export const escapeDockerName = (s: string) => escapeBytes(s, '_');

/** [a-z0-9] kept, every other UTF-8 byte `<mark>xx` (lower-case hex): injective since `mark` is never kept. */
function escapeBytes(s: string, mark: '_' | '-'): string {
  let out = '';
  for (const byte of wtf8(s)) {
    const isSafe = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39);
    out += isSafe ? String.fromCharCode(byte) : mark + byte.toString(16).padStart(2, '0');
  }
  return out;
}

/** Inverse of escapeDockerName (used by tests to prove injectivity, and for diagnostics). */
export const unescapeDockerName = (s: string) => unescapeBytes(s, '_');

function unescapeBytes(s: string, mark: '_' | '-'): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === mark) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i));
  }
  return fromWtf8(bytes);
}

/**
 * `jupyter-alice` for the default server, `jupyter-alice--lab` for a named one; at most 63
 * characters. After `<prefix>-`, an unshortened name has '-' only in the `--` separator (escaping
 * never makes one), so each `-z` in it follows another '-'; the marker of a shortened name follows
 * a head that does not end in '-' (or starts the rest, where an unshortened rest never has `-z`).
 * Throws when the prefix leaves no room (a prefix of more than 34 characters).
 */
export function containerName(prefix: string, user: string, serverName: string): string {
  const rest = containerNameBeforeLimits(prefix, user, serverName).slice(prefix.length + 1);
  return `${prefix}-${fit(rest, CONTAINER_NAME_MAX - prefix.length - 1, `container name prefix "${prefix}"`)}`;
}

/**
 * The container name earlier versions gave (no length limit). It differs from containerName only
 * when that one is shortened, i.e. past 63 characters; a stopped container of that name may still
 * exist from before the upgrade, so whoever removes a server's previous container should try both.
 */
export function containerNameBeforeLimits(prefix: string, user: string, serverName: string): string {
  return `${prefix}-${escapeDockerName(user)}${serverName ? `--${escapeDockerName(serverName)}` : ''}`;
}

/**
 * Docker refuses volume names outside this pattern (e.g. a template that starts with `{username}` and
 * a user `_x`): moby's `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (so at least two characters), at most 255.
 */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,254}$/;

/**
 * The home volume from the `{username}` template, with the same escaping as the container name.
 * When the result would pass 255 characters, each `{username}` gets the shortened form instead.
 * Injective for a template with at least one `{username}`: the template's fixed text and the number
 * of places are known, so the length of the result gives the length of the substituted string and
 * its place gives the string; an escaped name never contains '-', a shortened one always does.
 * Throws when the template's own text leaves no room (the backend then reports the template).
 */
export function homeVolumeName(template: string, user: string): string {
  const parts = template.split('{username}');
  const places = parts.length - 1;
  const escaped = escapeDockerName(user);
  const fixed = template.length - places * '{username}'.length;
  if (places === 0 || fixed + places * escaped.length <= VOLUME_NAME_MAX) return parts.join(escaped);
  const room = Math.floor((VOLUME_NAME_MAX - fixed) / places);
  return parts.join(fit(escaped, room, `docker.home_volume "${template}"`));
}

/**
 * Escapes into [a-z0-9-]: [a-z0-9] stay, every other UTF-8 byte becomes `-xx` (lower-case hex).
 * Injective: a '-' is always followed by two hex digits, so decoding is unambiguous.
 */
export const escapeDnsLabel = (s: string) => escapeBytes(s, '-');

/** Inverse of escapeDnsLabel (used by tests to prove injectivity). */
export const unescapeDnsLabel = (s: string) => unescapeBytes(s, '-');

/** An RFC 1123 label in lower case: what Swarm service names and hostnames must be. */
export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** A prefix for dnsLabel: a lower-case label of at most 24 characters (room for a readable head). */
const DNS_PREFIX = /^(?=.{1,24}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * The DNS-safe name of a server (Swarm service, reached by that name on an overlay network):
 * `<prefix>-<user>[--<server>]` escaped with escapeDnsLabel, at most 63 characters, lower-case
 * [a-z0-9-], never starting or ending with '-'.
 * Injective: after `<prefix>-`, reading left to right, a '-' followed by a hex digit starts an
 * escape and `--` is the separator (an escape is '-' + hex, so it never yields `--`). An
 * unshortened name therefore never has '-' followed by 'z' after the prefix, and a shortened one
 * always does (see the top of this file for the digest).
 */
export function dnsLabel(prefix: string, user: string, serverName: string): string {
  if (!DNS_PREFIX.test(prefix) || prefix.startsWith('xn-')) {
    throw new Error(`DNS name prefix "${prefix}" must be a lower-case DNS label of at most 24 characters, not starting with "xn-"`);
  }
  if (!user) throw new Error('dnsLabel: empty user name'); // `<prefix>-` would end with '-'
  const rest = `${escapeDnsLabel(user)}${serverName ? `--${escapeDnsLabel(serverName)}` : ''}`;
  return `${prefix}-${fit(rest, DNS_LABEL_MAX - prefix.length - 1, `DNS name prefix "${prefix}"`)}`;
}
