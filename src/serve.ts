// Runs the roles asked for in one process (design §3): `berth serve` is api + proxy + worker,
// `berth api`, `berth proxy` and `berth worker` run one each against the same database. One runtime
// is built and shared; each role has its own close(). Exiting never stops a user's server.
import { loadConfig, ConfigError } from './config/load.ts';
import type { ApiRole } from './roles/api.ts';
import type { ProxyRole } from './roles/proxy.ts';
import type { WorkerRole } from './worker/index.ts';
import { createRuntime, type Runtime } from './roles/runtime.ts';
import { apiUrl } from './proxy/hub-upstream.ts';

export type Role = 'api' | 'proxy' | 'worker';
export const ALL_ROLES: readonly Role[] = ['api', 'proxy', 'worker'];

export interface Running {
  rt: Runtime;
  api?: ApiRole | undefined;
  proxy?: ProxyRole | undefined;
  worker?: WorkerRole | undefined;
  close(): Promise<void>;
}

export async function runRoles(roles: readonly Role[], opts: { configFile?: string | undefined }): Promise<Running> {
  const rt = await createRuntime(opts);
  const { ctx, source } = rt;
  const has = (r: Role) => roles.includes(r);
  // The worker first: a spawn requested the moment the api answers finds a runner.
  // Each role's modules load only when it runs: `berth proxy` never loads Hono, the handlers, the
  // login providers or the worker's jobs (about 17 MB of resident memory it would not use).
  const worker = has('worker') ? await (await import('./worker/index.ts')).startWorker(ctx) : undefined;
  const api = has('api') ? await (await import('./roles/api.ts')).startApi(rt, { listen: !has('proxy') }) : undefined;
  const proxy = has('proxy') ? await (await import('./roles/proxy.ts')).startProxy(rt, { listener: api?.listener }) : undefined;

  const about = `config: ${source}, backend: ${ctx.backend.kind}, roles: ${roles.join(' + ')}`;
  if (proxy) console.log(`berth: listening on ${proxy.url} (${about}${api ? '' : `, api at ${apiUrl(ctx.config)}`})`);
  else if (api) console.log(`berth: listening on ${api.url} (${about}; the proxy forwards to it)`);
  else console.log(`berth: worker running (${about}; lease ${ctx.config.worker.lease_seconds}s, instance ${ctx.instanceId})`);

  const onHup = () => {
    try {
      const next = loadConfig({ file: opts.configFile }).config; // new requests and spawns use it; running servers are untouched
      const fixed = (['host', 'name_prefix', 'network', 'network_internal'] as const).filter((k) => next.docker[k] !== ctx.config.docker[k]);
      // backend.kind: new servers keep starting on the running kind until a restart (servers.backend keeps each row's own)
      const kindChanged = next.backend.kind !== ctx.backend.kind;
      if (fixed.length || kindChanged) {
        ctx.log.warn('configuration reload: these settings need a restart to apply', { settings: [...fixed.map((k) => `docker.${k}`), ...(kindChanged ? ['backend.kind'] : [])] });
      }
      ctx.config = next;
      api?.reloaded();
      worker?.reloaded();
      ctx.log.info('configuration reloaded', { source });
    } catch (e) {
      ctx.log.error('configuration reload refused; the previous one stays in force', { error: e instanceof ConfigError ? e.problems : String(e) });
    }
  };
  process.on('SIGHUP', onHup);

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    process.off('SIGHUP', onHup);
    await proxy?.close();
    await api?.close();
    await worker?.close(); // gives the lease up, so a standby takes over at once
    await rt.close();
  })());
  return { rt, api, proxy, worker, close };
}

/** The command line's entry: runs until SIGTERM/SIGINT, then closes the roles and exits 0. */
export async function serveUntilSignalled(roles: readonly Role[], opts: { configFile?: string | undefined }): Promise<void> {
  const running = await runRoles(roles, opts);
  // Every timer and listener of the roles is unref'd (tests run them in-process): this keeps a
  // process alive, notably `berth worker`, which listens for nothing but wake-ups.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const shutdown = (signal: string) => {
    clearInterval(keepAlive);
    running.rt.ctx.log.info('shutting down; user servers keep running', { signal });
    void running.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
