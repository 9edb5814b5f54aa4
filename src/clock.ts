// Time source passed into the app so tests can fix or advance it; and JupyterHub's timestamp format.
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** ISO-8601 UTC with a literal Z, as JupyterHub renders (milliseconds only when non-zero). */
export function isoZ(ms: number | null | undefined): string | null {
  if (ms == null) return null;
  const s = new Date(ms).toISOString();
  return s.endsWith('.000Z') ? s.slice(0, -5) + 'Z' : s;
}

/**
 * Parses a timestamp the way the hub must: a naive value (no zone) means UTC, not local time
 * (spec I.14). Returns milliseconds, or null when unparseable.
 */
export function parseTimestamp(value: unknown): number | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(value.trim());
  if (!m) return null;
  let iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}`;
  if (m[7]) iso += '.' + m[7].slice(0, 3).padEnd(3, '0');
  const zone = m[8] ? (m[8].toUpperCase() === 'Z' ? 'Z' : m[8].length === 5 ? `${m[8].slice(0, 3)}:${m[8].slice(3)}` : m[8]) : 'Z';
  const t = Date.parse(iso + zone);
  return Number.isNaN(t) ? null : t;
}
