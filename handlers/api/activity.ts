// PLACEHOLDER — being written (issue #2). Mounted at /hub/api by handlers/app.ts.
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

export const activityApi = new Hono<AppEnv>();
