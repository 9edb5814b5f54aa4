// `npm run bench`: every figure of Berth's hot paths beside its anchor on this machine, in one run,
// written as a dated Markdown + JSON report to test/bench/results/. Figures only — tests never assert
// on timings, and the bench never runs inside `npm test`. Loopback and the bench's own containers only;
// every section bounded in count and time, and leaves nothing running.
//   npm run bench                    every section
//   npm run bench -- token proxy     only those sections (token, proxy, spawn, wake)
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROUNDS, table, type Row } from './report.ts';
import { ensureTools } from './wrk.ts';
import { tokenCheckRows } from './token-check.bench.ts';
import { spawnWake } from './wake.bench.ts';
import { proxyRows } from './proxy.bench.ts';
import { spawnRows } from './spawn.bench.ts';

interface Section { rows: Row[]; raw: unknown }

const wakeRows = async (): Promise<Section> => {
  const w = await spawnWake();
  return { rows: [{ figure: 'spawn wake-up added by `berth api` + `berth worker` over one process, p50 / p95 ms', anchor: '`berth serve`', berth: `${w.addedP50ms} / ${w.addedP95ms}`, ratio: '', target: '', met: null }], raw: w };
};

const SECTIONS: Record<string, () => Promise<Section>> = {
  token: tokenCheckRows,
  proxy: proxyRows,
  spawn: spawnRows,
  wake: wakeRows,
};

const asked = process.argv.slice(2);
const unknown = asked.filter((s) => !(s in SECTIONS));
if (unknown.length) {
  console.error(`bench: no section ${unknown.join(', ')}; the sections are: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
ensureTools();
// The berth command as admins run it: the compiled dist/, built from these sources first.
const built = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url))], { stdio: 'inherit' });
if (built.status !== 0) throw new Error('npm run build failed: the bench measures the compiled code');

const started = Date.now();
const date = new Date().toISOString();
const sections: Record<string, Section> = {};
for (const name of asked.length ? asked : Object.keys(SECTIONS)) {
  const t0 = Date.now();
  console.log(`bench: ${name}…`);
  sections[name] = await SECTIONS[name]!();
  console.log(`bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const rows = Object.values(sections).flatMap((s) => s.rows);
const md = [
  `# Berth bench, ${date}`, '',
  `Node ${process.version}, ${(await import('node:os')).cpus().length} cores. Medians of ${ROUNDS} interleaved runs (min–max) unless a row says otherwise;`,
  'HTTP load by wrk with 50 connections on loopback, the load generator on the same machine.', '',
  table(rows), '',
  `Took ${((Date.now() - started) / 60000).toFixed(1)} min. Reproduce: \`npm run bench\` (see README, Performance).`, '',
].join('\n');
const json = JSON.stringify({ date, node: process.version, rows, sections: Object.fromEntries(Object.entries(sections).map(([k, v]) => [k, v.raw])) }, null, 2) + '\n';
const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const day = date.slice(0, 10);
for (const name of ['latest.json', `${day}.json`]) writeFileSync(new URL(name, dir), json);
writeFileSync(new URL(`${day}.md`, dir), md);
console.log(md);
console.log(`written to ${fileURLToPath(new URL(`${day}.md`, dir))} and ${day}.json`);
process.exit(0);
