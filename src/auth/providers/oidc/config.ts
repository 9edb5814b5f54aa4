// GenericOAuthenticator: any OpenID Connect provider (discovery from `issuer`), or plain OAuth2
// with explicit endpoints.
import { z } from 'zod';
import { insecureUrlProblem, providerCommon, serverUrl } from '../common-config.ts';

export const oidcConfig = z
  .object({
    kind: z.literal('oidc'),
    ...providerCommon,
    /** OpenID Connect issuer; its /.well-known/openid-configuration gives the endpoints and JWKS. */
    issuer: serverUrl.optional(),
    /** GenericOAuthenticator.authorize_url / token_url / userdata_url: plain OAuth2 without discovery. */
    authorize_url: serverUrl.optional(),
    token_url: serverUrl.optional(),
    userdata_url: serverUrl.optional(),
    /** OAuthenticator.client_id / client_secret (secret unset: a public client, PKCE only). */
    client_id: z.string().min(1),
    client_secret: z.string().min(1).optional(),
    /** OAuthenticator.scope. */
    scope: z.array(z.string()).default(['openid', 'profile', 'email']),
    /** GenericOAuthenticator.username_claim. */
    username_claim: z.string().min(1).default('preferred_username'),
    /** GenericOAuthenticator.claim_groups_key: a claim holding a list of group names. */
    groups_claim: z.string().min(1).optional(),
    /**
     * Refuse a login whose `email_verified` claim is not true. Default: on when username_claim is
     * `email` (an unverified address must never name an account).
     */
    require_email_verified: z.boolean().optional(),
    /** OAuthenticator.extra_authorize_params. */
    extra_authorize_params: z.record(z.string(), z.string()).default({}),
    /**
     * OAuthenticator.basic_auth: send client_id/client_secret to the token endpoint as HTTP Basic
     * (true) or in the form body (false). Unset: what the discovered token_endpoint_auth_methods_supported
     * allows (Basic, the OpenID default, when listed or unlisted); the form body in plain OAuth2.
     */
    basic_auth: z.boolean().optional(),
    /** http:// endpoints outside loopback (tests, labs). Never in production. */
    allow_insecure_http: z.boolean().default(false),
  })
  .strict()
  .refine((c) => !!c.issuer || (!!c.authorize_url && !!c.token_url && !!c.userdata_url), {
    message: 'set issuer (OpenID Connect discovery), or all of authorize_url, token_url and userdata_url (plain OAuth2)',
  })
  .superRefine((c, ctx) => {
    if (c.issuer && (c.authorize_url || c.token_url || c.userdata_url)) {
      ctx.addIssue({ code: 'custom', message: 'set either issuer (the endpoints come from its discovery document) or authorize_url, token_url and userdata_url, not both' });
    }
    for (const key of ['issuer', 'authorize_url', 'token_url', 'userdata_url'] as const) {
      const problem = c[key] && insecureUrlProblem(c[key], c.allow_insecure_http);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  });
