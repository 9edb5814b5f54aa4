// The effective scopes of an OAuth token a service's client obtained for a user (JupyterHub's
// get_scopes_for on such a token): the token's scopes plus the client's access scope and the
// identify scopes, limited to what the owner holds — and the owner holds
// `access:services!service=<name>` while the service's access rule admits them (spec.ts).
import type { AppContext } from '../../context.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { expandScopes, identifyScopes, intersectScopes, ownerRawScopes, type Owner, type ScopeSet } from '../../auth/scopes.ts';
import { mayAccessService, serviceAccessScope } from '../services/spec.ts';

export async function serviceClientTokenScopes(ctx: AppContext, raw: readonly string[], owner: Owner, user: UserRow, service: string): Promise<ScopeSet> {
  const access = serviceAccessScope(service);
  const granted = (await mayAccessService(ctx, user, service)) ? [access] : [];
  const ownerSet = expandScopes([...ownerRawScopes(owner), ...granted], owner);
  if (raw.length === 1 && raw[0] === 'inherit') return ownerSet;
  return intersectScopes(expandScopes([...raw, ...identifyScopes(owner), access], owner), ownerSet);
}
