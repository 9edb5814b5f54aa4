// Escaping for what a login form sends into the directory: attribute values in DNs (RFC 4514) and
// assertion values in search filters (RFC 4515), and the `{name}` templates they are put into.

const hex = (c: string) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0');

/**
 * An attribute value for a DN string (RFC 4514 §2.4): `"+,;<>\=`, a leading space or `#` and a
 * trailing space get a backslash; control characters become `\XX`.
 */
export function escapeDnValue(value: string): string {
  const chars = [...value];
  return chars
    .map((ch, i) => {
      if (/[\x00-\x1f\x7f]/.test(ch)) return hex(ch);
      if ('"+,;<>\\='.includes(ch)) return '\\' + ch;
      if ((i === 0 && (ch === ' ' || ch === '#')) || (i === chars.length - 1 && ch === ' ')) return '\\' + ch;
      return ch;
    })
    .join('');
}

/** An assertion value for a search filter (RFC 4515 §3): `*()\` and NUL become `\2a \28 \29 \5c \00`. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\x00]/g, hex);
}

/** `template` with each `{key}` replaced by `values[key]` (already escaped for where it goes). */
export function fillTemplate(template: string, values: Record<string, string>): string {
  let out = template;
  for (const [key, value] of Object.entries(values)) out = out.split(`{${key}}`).join(value);
  return out;
}
