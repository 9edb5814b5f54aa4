// GET /hub/api and /hub/api/ — the version check every single-user server and the culler make (spec B.1).
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

export const rootApi = new Hono<AppEnv>({ strict: false });

rootApi.get('/', (c) => {
  c.header('Access-Control-Allow-Origin', '*');
  return c.json({ version: c.get('ctx').config.hub.api_version });
});

rootApi.get('/health', (c) => c.json({ status: 'ok' }));
