// LDAPAuthenticator (jupyterhub-ldapauthenticator), for OpenLDAP and Active Directory.
import { z } from 'zod';
import { FilterParser } from 'ldapts';
import { providerCommon } from '../common-config.ts';

/** An attribute description: a name (uid, sAMAccountName, memberOf) or an OID. */
const attribute = z.string().regex(/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/, 'an LDAP attribute name');

/** A search filter with `{userdn}` / `{username}` placeholders that parses once they are filled. */
const filterTemplate = z.string().refine((f) => {
  try {
    FilterParser.parseString(f.replaceAll('{userdn}', 'x').replaceAll('{username}', 'x'));
    return true;
  } catch {
    return false;
  }
}, 'an LDAP search filter (RFC 4515), such as (member={userdn})');

const compiles = (re: string) => {
  try {
    new RegExp(re);
    return true;
  } catch {
    return false;
  }
};

export const ldapConfig = z
  .object({
    kind: z.literal('ldap'),
    ...providerCommon,
    /** LDAPAuthenticator.server_address / server_port (default 389, or 636 with tls: ldaps). */
    server_address: z.string().min(1).regex(/^[^/:\s]+$|^[0-9a-fA-F:]+$/, 'a host name or IP address, without ldap:// or a port (set tls and server_port)'),
    server_port: z.number().int().min(1).max(65535).optional(),
    /** LDAPAuthenticator.tls_strategy: on_connect (ldaps), before_bind (StartTLS), insecure. */
    tls: z.enum(['ldaps', 'starttls', 'none']).default('starttls'),
    /** LDAPAuthenticator.tls_kwargs ca_certs_file: a PEM file of the CA that signed the server's certificate (default: Node's CAs). Verification is always on. */
    tls_ca_file: z.string().optional(),
    /** LDAPAuthenticator.bind_dn_template: tried in order, `{username}` replaced (escaped). */
    bind_dn_template: z.array(z.string().includes('{username}')).default([]),
    /** LDAPAuthenticator.lookup_dn: search the user's DN with the service account, then bind as them (bind_dn_template is then not used). */
    lookup_dn: z.boolean().default(false),
    user_search_base: z.string().optional(),
    /** LDAPAuthenticator.user_attribute: uid (OpenLDAP) or sAMAccountName (AD). */
    user_attribute: attribute.default('uid'),
    lookup_dn_search_user: z.string().optional(),
    lookup_dn_search_password: z.string().optional(),
    /** LDAPAuthenticator.allowed_groups: group DNs; a member of any may log in. */
    allowed_groups: z.array(z.string().min(1)).default([]),
    /** LDAPAuthenticator.group_search_filter: finds the user's groups; {userdn} and {username} replaced. */
    group_search_filter: filterTemplate.default('(|(member={userdn})(uniqueMember={userdn})(memberUid={username}))'),
    /** Where to look for the user's groups (all the filter matches become Berth groups); unset: the allowed_groups they are in. */
    group_search_base: z.string().optional(),
    /** The group attribute whose value becomes the Berth group name. */
    group_name_attribute: attribute.default('cn'),
    /** LDAPAuthenticator.valid_username_regex: a JavaScript regular expression, tested on the name as typed (anchor it with ^…$). */
    valid_username_regex: z.string().refine(compiles, 'a valid regular expression').default('^[a-z][.a-z0-9_-]*$'),
    /** LDAPAuthenticator.auth_state_attributes: attributes kept in auth state. */
    auth_state_attributes: z.array(attribute).default([]),
    /** LDAPAuthenticator.use_lookup_dn_username (with lookup_dn): log in under the directory's spelling of user_attribute. */
    use_lookup_dn_username: z.boolean().default(true),
  })
  .strict()
  .refine((c) => c.lookup_dn || c.bind_dn_template.length > 0, { message: 'set bind_dn_template, or lookup_dn: true with user_search_base' })
  .refine((c) => !c.lookup_dn || !!c.user_search_base, { message: 'lookup_dn needs user_search_base' })
  // A DN with an empty password is an unauthenticated bind: many servers accept it as anonymous.
  .refine((c) => !c.lookup_dn_search_user === !c.lookup_dn_search_password, {
    message: 'lookup_dn_search_user and lookup_dn_search_password go together (neither: the lookup is anonymous)',
  });
