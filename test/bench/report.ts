// The report's shapes, shared by every section of `npm run bench`: each figure is ROUNDS interleaved
// runs summarised as median (min–max), and becomes one row of the Markdown table beside its anchor.

/** Every figure runs at least this many times, interleaved with its anchor. */
export const ROUNDS = 3;

export interface Spread { median: number; min: number; max: number; runs: number[] }

export function spread(xs: number[]): Spread {
  if (!xs.length) throw new Error('bench: a figure with no runs');
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)!, runs: xs };
}

/** "1234 (1200–1300)" */
export function fmt(s: Spread, digits = 0): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/** One line of the table: `met` is whether the target holds (null: the row has no numeric target). */
export interface Row { figure: string; anchor: string; berth: string; ratio: string; target: string; met: boolean | null }

export function table(rows: Row[]): string {
  const mark = (m: boolean | null) => (m === null ? '' : m ? 'met' : '**not met**');
  return [
    '| figure | anchor | Berth | ratio | target | |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.anchor} | ${r.berth} | ${r.ratio} | ${r.target} | ${mark(r.met)} |`),
  ].join('\n');
}
