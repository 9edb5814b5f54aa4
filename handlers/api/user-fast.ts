// The token check's fast path, at the Node server level, before the Hono app: `GET /hub/api/user` with
// a token is what every single-user server sends for each new browser session, all day. Its answer —
// the very bytes the app would send, built by tokenCheckAnswer — is kept per token and written from
// memory while the database cannot have changed (src/auth/token-cache.ts): a map lookup and one write,
// no Request/Response objects, no middleware chain. Everything else, and any token this path cannot
// answer (unknown, expired, a failed lookup), goes to the app, which owns every error answer.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AppContext } from '../../src/context.ts';
import type { Config } from '../../src/config/schema.ts';
import type { TokenRow } from '../../db/schema/index.ts';
import { identityFromToken, type Identity } from '../../src/auth/identity.ts';
import { tokenFromHeader } from '../../src/auth/tokens.ts';
import { TokenCache } from '../../src/auth/token-cache.ts';
import { noteTokenUse } from '../../src/services/tokens/touch.ts';
import { API_HEADERS } from '../headers.ts';
import { tokenCheckAnswer } from './user.ts';

/** `head`: the response headers, built once with the answer (an answer is kept under one configuration). */
interface Answer { token: TokenRow; identity: Identity; body: Buffer; head: Record<string, string | number> }

/** What one configuration fixes: the path, the headers, and the answers built under it. */
interface Under { config: Config; path: string; headers: Record<string, string>; answers: TokenCache<Answer> }

export function withFastTokenCheck(ctx: AppContext, app: RequestListener): RequestListener {
  let under: Under | undefined;
  // A reload (SIGHUP) may change a service's scopes, the base URL or the version: answers start afresh.
  const current = (): Under => {
    if (under?.config === ctx.config) return under;
    const config = ctx.config;
    const path = `${config.hub.base_url.replace(/\/$/, '')}/hub/api/user`;
    const headers = { 'Content-Type': 'application/json', ...API_HEADERS, 'X-JupyterHub-Version': config.hub.api_version };
    return (under = { config, path, headers, answers: new TokenCache<Answer>(ctx.db) });
  };

  const build = async (token: string, u: Under): Promise<Answer | undefined> => {
    const identity = await identityFromToken(ctx, token);
    if (!identity?.token) return undefined;
    const body = Buffer.from(JSON.stringify(await tokenCheckAnswer(ctx, identity)));
    return { token: identity.token, identity, body, head: { ...u.headers, 'Content-Length': body.length } };
  };

  const send = (res: ServerResponse, a: Answer) => {
    void noteTokenUse(ctx, a.identity); // throttled, fire-and-forget, as on the app's path
    res.writeHead(200, a.head);
    res.end(a.body);
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET') return app(req, res);
    const u = current();
    if (req.url !== u.path) return app(req, res);
    const token = tokenFromHeader(req.headers.authorization);
    if (!token) return app(req, res);
    const now = ctx.clock.now();
    const hit = u.answers.peek(token, now);
    if (hit) return send(res, hit);
    u.answers.get(token, now, () => build(token, u)).then(
      (a) => (a ? send(res, a) : app(req, res)),
      (err: unknown) => {
        ctx.log.warn('token check fast path failed; the app answers', { error: String(err) });
        return app(req, res);
      },
    );
  };
}
