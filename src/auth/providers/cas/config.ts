// jupyterhub-cas-authenticator (Apereo CAS protocol 2.0 / 3.0).
import { z } from 'zod';
import { providerCommon, serverUrl } from '../common-config.ts';

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
  .strict();
