#!/usr/bin/env node
// The `berth` command: the compiled code in dist/ (`npm run build`; `npm start` builds first), so no
// TypeScript compiler is loaded at run time. Working on the sources: scripts/berth-dev.mjs runs them.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('berth: not built yet: run `npm run build` (npm start builds first), or scripts/berth-dev.mjs to run the sources');
  process.exit(1);
}
await import(cli.href);
