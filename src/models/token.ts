// JupyterHub's API token model (spec B.8): owner, "a<id>", expanded effective scopes, timestamps,
// note, session and the issuing OAuth client ("JupyterHub" for ordinary tokens).
import type { UserRow } from '../../db/schema/index.ts';
import type { ListedToken } from '../services/tokens/list.ts';
import { formatScopes, tokenScopes } from '../auth/scopes.ts';
import { isoZ } from '../clock.ts';

export function tokenModel(t: ListedToken, owner: Pick<UserRow, 'name' | 'admin'>) {
  const { row } = t;
  const clientServer = t.serverName != null ? `${t.serverOwner ?? owner.name}/${t.serverName}` : undefined;
  return {
    user: owner.name,
    id: `a${row.id}`,
    kind: 'api_token',
    roles: [] as string[],
    scopes: formatScopes(tokenScopes(row.scopes, { kind: 'user', name: owner.name, admin: owner.admin }, clientServer)),
    created: isoZ(row.createdAt),
    last_activity: isoZ(row.lastActivity),
    expires_at: isoZ(row.expiresAt),
    note: row.note,
    session_id: row.sessionId,
    oauth_client: t.clientDescription || row.oauthClientId || 'JupyterHub',
  };
}
