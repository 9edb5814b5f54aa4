// Time source passed into the app so tests can fix or advance it; and JupyterHub's timestamp format.
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

const US_PER_S = 1_000_000;

/**
 * Microseconds since the epoch rendered as JupyterHub does (Python's `isoformat()` plus a literal Z):
 * six fraction digits when the microseconds are non-zero, none otherwise.
 */
export function isoZMicros(us: number | null | undefined): string | null {
  if (us == null) return null;
  const fraction = ((us % US_PER_S) + US_PER_S) % US_PER_S;
  const seconds = new Date(((us - fraction) / US_PER_S) * 1000).toISOString().slice(0, 19);
  return fraction === 0 ? `${seconds}Z` : `${seconds}.${String(fraction).padStart(6, '0')}Z`;
}

/** Milliseconds since the epoch in JupyterHub's format (see isoZMicros): `.728Z` is `.728000Z`. */
export function isoZ(ms: number | null | undefined): string | null {
  return ms == null ? null : isoZMicros(ms * 1000);
}

/**
 * Parses a timestamp the way the hub must: a naive value (no zone) means UTC, not local time
 * (spec I.14); an offset is honoured. Returns integer microseconds since the epoch — up to six
 * fraction digits kept, any beyond truncated — or null when unparseable.
 */
export function parseTimestampMicros(value: unknown): number | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(value.trim());
  if (!m) return null;
  const zone = m[8] ? (m[8].toUpperCase() === 'Z' ? 'Z' : m[8].length === 5 ? `${m[8].slice(0, 3)}:${m[8].slice(3)}` : m[8]) : 'Z';
  // Date holds milliseconds only: take the whole second from it and the fraction from the digits.
  const second = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${zone}`);
  if (Number.isNaN(second)) return null;
  return second * 1000 + Number((m[7] ?? '').slice(0, 6).padEnd(6, '0'));
}
