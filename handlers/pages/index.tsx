// PLACEHOLDER — being written (issue #2): /hub/login, /hub/logout, /hub/home, /hub/spawn…, /hub/user/…
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

export const pages = new Hono<AppEnv>();
