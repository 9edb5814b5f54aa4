// The system-user backend (SystemUserSpawner): Docker containers that run as the host user, with the
// host home bind-mounted. The spawn works out who and where (src/spawn/system-user.ts); this backend
// runs the spec through the docker backend, its containers labelled berth.backend=system-user so
// each kind lists only its own on a shared engine.
import type { Config } from '../../config/schema.ts';
import type { SystemUserConfig } from '../../config/backend-schema.ts';
import { SpawnError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { DockerBackend } from '../docker/index.ts';
import type { Backend, BackendRef, HubProbeResult, HubReach, ListedServer, PollResult, ProgressFn, ServerSpec, StartResult } from '../types.ts';

/**
 * Composition rather than a subclass: homes are host directories, not volumes this backend creates,
 * so it has no listVolumes / removeVolume (prune must never see the docker kind's home volumes as its).
 */
export class SystemUserBackend implements Backend {
  readonly kind = 'system-user';
  readonly bindIp: string;
  private readonly docker: DockerBackend;

  private readonly configOf: () => Config;
  private readonly started: Config;

  constructor(config: Config | (() => Config), log: Logger) {
    this.configOf = typeof config === 'function' ? config : () => config;
    this.started = this.configOf();
    this.docker = new DockerBackend(config, log, { kind: 'system-user' });
    this.bindIp = this.docker.bindIp;
  }

  /**
   * The system-user settings spawns use: the live ones, or — after a reload to another kind, whose
   * new spawns still come here until a restart — those this backend started with.
   */
  systemUsers(): SystemUserConfig | undefined {
    const live = this.configOf().backend;
    if (live.kind === 'system-user') return live;
    return this.started.backend.kind === 'system-user' ? this.started.backend : undefined;
  }

  init(hub: { port: number; connectUrl?: string | undefined }): Promise<HubReach> {
    return this.docker.init(hub);
  }

  async prepare(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<void> {
    checkRunAs(spec);
    await this.docker.prepare(spec, progress, signal);
  }

  async start(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<StartResult> {
    checkRunAs(spec);
    return this.docker.start(spec, progress, signal);
  }

  stop(ref: BackendRef): Promise<void> {
    return this.docker.stop(ref);
  }

  poll(ref: BackendRef): Promise<PollResult> {
    return this.docker.poll(ref);
  }

  list(): Promise<ListedServer[]> {
    return this.docker.list();
  }

  logs(ref: BackendRef, tail: number): Promise<string> {
    return this.docker.logs(ref, tail);
  }

  pullImage(image: string, signal?: AbortSignal): Promise<'pulled' | 'present' | 'skipped'> {
    return this.docker.pullImage(image, signal);
  }

  probeHubReach(hubUrl: string, opts?: { signal?: AbortSignal | undefined; creator?: string | undefined }): Promise<HubProbeResult> {
    return this.docker.probeHubReach(hubUrl, opts);
  }

  removeStaleProbes(isGone: (creator: string) => boolean, now: number): Promise<number> {
    return this.docker.removeStaleProbes(isGone, now);
  }

  close(): Promise<void> {
    return this.docker.close();
  }
}

/** A spec that does not say who to run as would run as the image's user: never what this kind means. */
function checkRunAs(spec: ServerSpec): void {
  if (!spec.runAs) {
    throw new SpawnError('create', `The system-user backend needs a spec with runAs ("uid:gid" or "0"); the server of ${spec.user} has none: the spawn builds it from backend.sources`);
  }
}
