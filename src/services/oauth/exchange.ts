// The OAuth token endpoint's work (spec B.3 step 4): authenticates the client, redeems a code once,
// and issues the browser's access token. Errors are OAuth's own shape, not {"status","message"}.
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { hashToken, newOAuthToken, sha256, tokenPrefix, verifyToken } from '../../auth/tokens.ts';

export interface ExchangeInput {
  /** Form fields of the request body. */
  form: Record<string, string | undefined>;
  /** `client_id:client_secret` from HTTP Basic, when sent (a `token …` header is NOT client auth). */
  basic?: { id: string; secret: string } | undefined;
}

export type ExchangeResult =
  | { ok: true; body: { access_token: string; expires_in: number; token_type: 'Bearer'; scope: string } }
  | { ok: false; status: 400 | 401; body: { error: string; error_description?: string } };

const err = (status: 400 | 401, error: string, error_description?: string): ExchangeResult => ({
  ok: false, status, body: error_description ? { error, error_description } : { error },
});

/** RFC 7636 S256: base64url(sha256(verifier)) without padding. */
const s256 = (verifier: string) => createHash('sha256').update(verifier, 'ascii').digest('base64url');

export async function exchangeCode({ ctx, input }: { ctx: AppContext; input: ExchangeInput }): Promise<ExchangeResult> {
  const { form } = input;
  const now = ctx.clock.now();
  if (!form.grant_type) return err(400, 'invalid_request', 'Missing grant_type parameter.');
  if (form.grant_type !== 'authorization_code') return err(400, 'unsupported_grant_type');
  if (!form.code) return err(400, 'invalid_request', 'Missing code parameter.');
  // client authentication: body first (what single-user servers send), else HTTP Basic
  const clientId = form.client_id ?? input.basic?.id;
  const secret = form.client_secret ?? (input.basic && input.basic.id === clientId ? input.basic.secret : undefined);
  if (!clientId || !secret) return err(401, 'invalid_client');
  const client = await ctx.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.id, clientId) });
  if (!client || !client.secretHash || !verifyToken(secret, client.secretHash)) return err(401, 'invalid_client');
  const codeHash = sha256(form.code);
  const code = await ctx.db.query.oauthCodes.findFirst({ where: eq(schema.oauthCodes.codeHash, codeHash) });
  if (!code || code.clientId !== client.id) return err(400, 'invalid_grant');
  if (code.expiresAt < now) {
    await ctx.db.delete(schema.oauthCodes).where(eq(schema.oauthCodes.codeHash, codeHash));
    return err(400, 'invalid_grant');
  }
  if (code.codeChallenge && (!form.code_verifier || s256(form.code_verifier) !== code.codeChallenge)) return err(400, 'invalid_grant', 'Code verifier mismatch.');
  const redirectUri = form.redirect_uri ?? client.redirectUri;
  if (redirectUri !== code.redirectUri || redirectUri !== client.redirectUri) return err(400, 'invalid_request', 'Mismatching redirect URI.');

  const accessToken = newOAuthToken(30);
  const expiresIn = Math.round(ctx.config.hub.cookie_max_age_days * 86_400);
  const issued = await ctx.db.transaction(async (tx) => {
    // delete-then-issue: the code is redeemed at most once, even by two racing requests
    const used = await tx.delete(schema.oauthCodes).where(eq(schema.oauthCodes.codeHash, codeHash)).returning({ h: schema.oauthCodes.codeHash });
    if (used.length === 0) return false;
    await tx.insert(schema.tokens).values({
      kind: 'oauth', prefix: tokenPrefix(accessToken), hashed: hashToken(accessToken), userId: code.userId,
      oauthClientId: client.id, sessionId: code.sessionId, scopes: code.scopes, note: 'OAuth token',
      createdAt: now, expiresAt: now + expiresIn * 1000,
    });
    return true;
  });
  if (!issued) return err(400, 'invalid_grant');
  return { ok: true, body: { access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', scope: code.scopes.join(' ') } };
}
