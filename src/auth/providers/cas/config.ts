// jupyterhub-cas-authenticator (Apereo CAS protocol 2.0 / 3.0).
import { z } from 'zod';
import { isLoopback, providerCommon, serverUrl } from '../common-config.ts';

/** localhost, 127.0.0.0/8 and ::1: the one place plain http cannot be read or changed on the way. */
export const casConfig = z
  .object({
    kind: z.literal('cas'),
    ...providerCommon,
    /** The CAS server's base, e.g. https://cas.example.edu/cas (CASAuthenticator.cas_login_url without /login). */
    server_url: serverUrl,
    /** 3.0 validates at /p3/serviceValidate and reads attributes; 2.0 at /serviceValidate. */
    protocol: z.enum(['2.0', '3.0']).default('3.0'),
    /** CASAuthenticator.cas_required_attribs: attribute → value that must all be present. */
    required_attributes: z.record(z.string(), z.string()).default({}),
    /** An attribute whose values become Berth groups (e.g. memberOf, eduPersonAffiliation). */
    group_attribute: z.string().optional(),
    /** An attribute to use as the user name instead of the CAS user. */
    username_attribute: z.string().optional(),
    allow_insecure_http: z.boolean().default(false),
  })
  .strict()
  .superRefine((e, ctx) => {
    // the ticket and the attributes that decide access travel on this connection
    const u = URL.canParse(e.server_url) ? new URL(e.server_url) : undefined;
    if (!u) return; // serverUrl already reported it
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', path: ['server_url'], message: 'an https:// URL (the CAS server)' });
    } else if (u.protocol === 'http:' && !e.allow_insecure_http && !isLoopback(u.hostname)) {
      ctx.addIssue({ code: 'custom', path: ['server_url'], message: 'https:// (plain http is accepted only on loopback, or with allow_insecure_http: true)' });
    }
    if (u.search || u.hash || u.username || u.password) {
      ctx.addIssue({ code: 'custom', path: ['server_url'], message: 'the CAS base URL, without a query, fragment or credentials (e.g. https://cas.example.edu/cas)' });
    }
  });
