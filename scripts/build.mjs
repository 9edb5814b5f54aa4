#!/usr/bin/env node
// `npm run build`: compiles src/, handlers/ and db/ to dist/ with tsc (tsconfig.build.json rewrites the
// .ts imports to .js) and copies what the compiled code reads beside itself (db/migrations). Incremental:
// an unchanged tree rebuilds in a few seconds, so `npm start` can always build first.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('berth build: tsc failed (above); dist/ is not updated');
  process.exit(r.status ?? 1);
}
const migrations = join(root, 'dist/db/migrations');
rmSync(migrations, { recursive: true, force: true });
cpSync(join(root, 'db/migrations'), migrations, { recursive: true });
