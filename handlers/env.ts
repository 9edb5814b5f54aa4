// Hono environment shared by every handler: the app context and the caller's identity.
import type { AppContext } from '../src/context.ts';
import type { Identity } from '../src/auth/identity.ts';

export interface AppEnv {
  Variables: {
    ctx: AppContext;
    /** Set by the auth middleware when the caller presented a valid token or login cookie. */
    identity: Identity | undefined;
  };
}
