#!/usr/bin/env node
// The `berth` command on the TypeScript sources through tsx, no build step (the tests and `npm run dev`
// use it), with the repo's tsconfig named explicitly so it works from any working directory (JSX too).
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli.ts');
