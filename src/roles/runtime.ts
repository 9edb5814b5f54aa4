// What every role stands on, built once per process: config, log, backend (with how containers reach
// the hub), database and this process's instance id. The roles asked for share it; close() releases
// what it opened, after the roles have closed.
import { EventEmitter } from 'node:events';
import { loadConfig, dbUrl } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { systemClock } from '../clock.ts';
import { openDb } from '../../db/client.ts';
import { createBackend } from '../backends/index.ts';
import { BackendRegistry } from '../backends/registry.ts';
import type { HubReach } from '../backends/types.ts';
import type { AppContext } from '../context.ts';
import { newInstanceId } from '../instance.ts';

export interface Runtime {
  ctx: AppContext;
  reach: HubReach;
  /** Where the config came from ("berth.yaml", "embedded defaults"). */
  source: string;
  configFile?: string | undefined;
  close(): Promise<void>;
}

export async function createRuntime(opts: { configFile?: string | undefined }): Promise<Runtime> {
  const { config, source } = loadConfig({ file: opts.configFile });
  const log = createLogger(config.hub.log_level);
  let ctx: AppContext | undefined;
  const configOf = () => ctx?.config ?? config;
  const backend = createBackend(config.backend.kind, configOf, log);
  const hub = { port: config.hub.port, connectUrl: config.hub.hub_connect_url };
  const reach = await backend.init(hub);
  const backends = new BackendRegistry(backend, (kind) => createBackend(kind, configOf, log), hub);
  const db = await openDb(dbUrl(config), { authToken: config.hub.db_auth_token });
  ctx = { config, db, backend, backends, clock: systemClock, log, events: new EventEmitter(), hubUrl: reach.hubUrl, instanceId: newInstanceId() };
  ctx.events.setMaxListeners(0); // one listener per open progress stream
  return {
    ctx, reach, source, configFile: opts.configFile,
    async close() {
      await backends.close();
      db.$client.close();
    },
  };
}
