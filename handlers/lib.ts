// Small helpers every handler uses: scope checks with JupyterHub's 403/404 rules, JSON body
// parsing with zod that answers {"status", "message"}, and the caller's identity.
import type { Context } from 'hono';
import type { z } from 'zod';
import { eq } from 'drizzle-orm';
import type { AppEnv } from './env.ts';
import { schema } from '../db/client.ts';
import type { UserRow } from '../db/schema/index.ts';
import { ServiceError, notFound } from '../src/errors.ts';
import { grants, holds, type Resource } from '../src/auth/scopes.ts';
import type { Identity } from '../src/auth/identity.ts';
import type { AppContext } from '../src/context.ts';

type C = Context<AppEnv>;

/** The caller, or 403 "Missing or invalid credentials." (spec B.9). */
export function caller(c: C): Identity {
  const id = c.get('identity');
  if (!id) throw new ServiceError('Unauthenticated', 'Missing or invalid credentials.');
  return id;
}

/** Who acts, as services name it in notes and the audit log ("user:alice", "service:culler"). */
export const actorOf = (id: Identity) => `${id.kind}:${id.name}`;

/** The user of that name, or undefined (pages answer a missing user their own way). */
export const lookUpUser = (ctx: AppContext, name: string) => ctx.db.query.users.findFirst({ where: eq(schema.users.name, name) });

/** The user named in the path, or 404 "No such user: <name>". */
export async function findUser(c: C, name: string): Promise<UserRow> {
  const row = await lookUpUser(c.get('ctx'), name);
  if (!row) throw notFound(`No such user: ${name}`);
  return row;
}

/**
 * Requires any of `scopes` on `resource` (spec B.9): unauthenticated → 403; holds the scope but its
 * filters exclude the resource → 404; lacks it entirely → 403.
 */
export function requireScope(c: C, scopes: string | string[], resource?: Resource): Identity {
  const id = caller(c);
  const list = Array.isArray(scopes) ? scopes : [scopes];
  if (list.some((s) => grants(id.scopes, s, resource))) return id;
  if (list.some((s) => holds(id.scopes, s))) throw new ServiceError('NotFound', 'No access to resources or resources not found');
  throw new ServiceError('Forbidden', `Action is not authorized with current scopes; requires any of [${list.join(', ')}]`);
}

/** Reads an optional JSON body (empty → undefined) and validates it; bad input → 400 with a clear message. */
export async function jsonBody<T extends z.ZodType>(c: C, schema: T, opts: { optional?: boolean } = {}): Promise<z.infer<T> | undefined> {
  const text = await c.req.text();
  if (!text.trim()) {
    if (opts.optional) return undefined;
    throw new ServiceError('Invalid', 'Request body is required');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ServiceError('Invalid', 'Request body must be JSON');
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ServiceError('Invalid', `Invalid request body: ${where}${issue.message}`);
  }
  return parsed.data;
}

/** Absolute base of this request as the caller sees it (for pagination next.url, spec D.1). */
export function requestOrigin(c: C): string {
  const url = new URL(c.req.url);
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() || url.protocol.replace(':', '');
  const host = c.req.header('x-forwarded-host')?.split(',')[0]?.trim() || c.req.header('host') || url.host;
  return `${proto}://${host}`;
}
