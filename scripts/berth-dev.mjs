#!/usr/bin/env node
// The `berth` command. Runs the TypeScript sources directly through tsx (no build step), with the
// repo's tsconfig named explicitly so it works from any working directory (JSX settings included).
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli.ts');
