// JupyterHub's server model (spec E.5) built from a servers row: maps Berth's state machine onto
// `pending`/`ready`/`stopped`, and shows the backend state only to holders of admin:server_state.
import type { ServerRow } from '../../db/schema/index.ts';
import { grants, type ScopeSet } from '../auth/scopes.ts';
import { isoZ, isoZMicros } from '../clock.ts';
import { progressUrl, serverPrefix } from '../names.ts';
import { isActive, isReady, pendingOf, type Pending } from '../state/server.ts';

export interface ServerModel {
  name: string;
  full_name: string;
  last_activity: string | null;
  started: string | null;
  pending: Pending;
  ready: boolean;
  stopped: boolean;
  url: string;
  user_options: Record<string, unknown>;
  progress_url: string;
  full_url: null;
  full_progress_url: null;
  state?: Record<string, unknown>;
}

export function serverModel(row: ServerRow, userName: string, opts: { baseUrl: string; scopes: ScopeSet }): ServerModel {
  const active = isActive(row.state);
  const model: ServerModel = {
    name: row.name,
    full_name: `${userName}/${row.name}`,
    last_activity: isoZMicros(row.lastActivityUs),
    // JupyterHub clears `started` at stop; while pending it is already set (the request time here).
    started: active ? isoZ(row.startedAt ?? row.requestedAt) : null,
    pending: pendingOf(row.state),
    ready: isReady(row.state),
    stopped: !active,
    url: serverPrefix(opts.baseUrl, userName, row.name),
    user_options: row.userOptions ?? {},
    progress_url: progressUrl(opts.baseUrl, userName, row.name),
    full_url: null,
    full_progress_url: null,
  };
  if (grants(opts.scopes, 'admin:server_state', { server: `${userName}/${row.name}` })) model.state = row.backendRef ?? {};
  return model;
}
