#!/usr/bin/env node
// Runs Berth's tests with Node's own test runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            unit + integration + e2e (what `npm test` and CI run)
//   node scripts/run-tests.mjs unit       only the unit tests beside the code (no Docker needed)
//   node scripts/run-tests.mjs <files…>   just those files
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function find(dir, out = []) {
  let entries;
  try { entries = readdirSync(join(root, dir)); } catch { return out; }
  for (const e of entries) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(join(root, p)).isDirectory()) find(p, out);
    else if (e.endsWith('.test.ts') || e.endsWith('.test.tsx')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const unit = [...find('src'), ...find('handlers'), ...find('test/unit'), ...find('test/contract')];
const suites = { unit, integration: find('test/integration'), e2e: find('test/e2e') };
let files;
if (args.length === 0) files = [...suites.unit, ...suites.integration, ...suites.e2e];
else files = args.flatMap((a) => suites[a] ?? [a]);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Files run one at a time: integration suites share one Docker engine on a 2-core machine.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(r.status ?? 1);
