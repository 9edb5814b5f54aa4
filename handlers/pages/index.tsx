// The hub's server-rendered pages (hono/jsx), mounted at the base URL by handlers/app.ts.
// The catch-all prefix redirect (misc.ts) must stay last.
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { loginPages } from './login.tsx';
import { oauthLoginPages } from './oauth-login.tsx';
import { homePages } from './home.tsx';
import { spawnPages } from './spawn.tsx';
import { spawnPendingPages } from './spawn-pending.tsx';
import { userUrlPages } from './user-url.tsx';
import { miscPages } from './misc.ts';

export const pages = new Hono<AppEnv>();

pages.route('/', loginPages);
pages.route('/', oauthLoginPages);
pages.route('/', homePages);
pages.route('/', spawnPages);
pages.route('/', spawnPendingPages);
pages.route('/', userUrlPages);
pages.route('/', miscPages);
