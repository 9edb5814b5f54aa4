// The backend contract (JupyterHub's Spawner, made stateless): every backend — docker, swarm,
// system-user and the fake — implements it and passes test/contract/backend.contract.ts.

/** Opaque, JSON-serialisable handle a backend returns from start(); persisted in servers.backend_ref. */
export type BackendRef = Record<string, unknown>;

/** Everything a backend needs to start one server. Computed by src/spawn/spec.ts from config + user. */
export interface ServerSpec {
  user: string;
  /** '' for the default server. */
  serverName: string;
  image: string;
  /** Command override; undefined runs the image's CMD. */
  cmd?: string[] | undefined;
  args: string[];
  /** The full environment (JUPYTERHUB_* included), ready to pass to the container. */
  env: Record<string, string>;
  /** Port the server listens on inside its container. */
  port: number;
  /** Bytes: a hard limit (Spawner.mem_limit). */
  memLimit?: number | undefined;
  /** CPUs: a hard limit (Spawner.cpu_limit). */
  cpuLimit?: number | undefined;
  /** Bytes: Spawner.mem_guarantee (Docker: a soft limit, MemoryReservation). */
  memGuarantee?: number | undefined;
  /** CPUs: Spawner.cpu_guarantee (Docker: a relative weight, CpuShares = 1024 × this). */
  cpuGuarantee?: number | undefined;
  /**
   * What the server mounts, home first, names and paths already templated (buildServerSpec). A
   * backend mounts exactly these: it never reads docker.home_volume or docker.volumes itself.
   */
  mounts: ServerMount[];
  /**
   * Who the server's process runs as: "uid:gid" (system-user), "0" (root, so the image's start script
   * drops to NB_UID), or undefined for the image's own user.
   */
  runAs?: string | undefined;
  /** Working directory inside the server; undefined keeps the image's. */
  workingDir?: string | undefined;
  /** Bytes: the size limit of the server's own writable layer (docker.storage_size, `--storage-opt size`). */
  storageSize?: number | undefined;
  /** Devices (GPUs) the server asks for, in Docker's DeviceRequests terms. */
  deviceRequests?: DeviceRequest[] | undefined;
  /** Docker HostConfig keys added as given (docker.extra_host_config, already checked against Berth's own). */
  extraHostConfig?: Record<string, unknown> | undefined;
  /** Run inside the server once it has started, before the readiness check; its failure is logged, never fatal. */
  postStartCmd?: string[] | undefined;
  /**
   * Labels identifying the owner (berth.user, berth.server, berth.config-hash) and the admin's
   * docker.extra_labels; backends add berth.managed-by and berth.instance themselves, and their
   * berth.* keys always win.
   */
  labels: Record<string, string>;
  /** Hash of the settings that shaped this server: a stopped server with another hash is replaced. */
  configHash: string;
}

/** One mount of a server. */
export interface ServerMount {
  /** volume: a named volume; bind: a host path (absolute). */
  type: 'volume' | 'bind';
  source: string;
  /** Absolute path inside the server. */
  target: string;
  readOnly?: boolean | undefined;
  /**
   * The user's home volume: the backend creates it (owned by the image's user, labelled as Berth's,
   * so prune can find it). Other volumes are the admin's: the engine creates a missing one unlabelled.
   */
  home?: boolean | undefined;
  /** For the home volume: the driver it is created with and its options (templated), when not the local default. */
  driver?: string | undefined;
  driverOptions?: Record<string, string> | undefined;
}

/** A device request (Docker's `--gpus`): count (-1 is all) or deviceIds, and capabilities (any one list, each whole). */
export interface DeviceRequest {
  driver?: string | undefined;
  count?: number | undefined;
  deviceIds?: string[] | undefined;
  capabilities: string[][];
  options?: Record<string, string> | undefined;
}

export interface StartResult {
  ref: BackendRef;
  /** Where the proxy reaches the server: scheme://host:port with no path. */
  url: string;
}

/**
 * What poll() says about a server:
 * - running: the process/container is up (it may not answer HTTP yet);
 * - exited: it was started and has stopped (exitCode when known) — a crash or a stop from outside;
 * - missing: nothing exists for this ref (never started, removed, or a half-started create that failed).
 */
export type PollResult = { status: 'running' } | { status: 'exited'; exitCode?: number | undefined } | { status: 'missing' };

export interface ListedServer {
  user: string;
  serverName: string;
  ref: BackendRef;
  running: boolean;
  url?: string | undefined;
  configHash?: string | undefined;
  /** When it was created / when it last stopped (ms since the epoch), when the backend knows: prune's grace periods. */
  createdAt?: number | undefined;
  finishedAt?: number | undefined;
}

/** A home volume the backend created (found by label). */
export interface ListedVolume {
  name: string;
  user: string;
  createdAt?: number | undefined;
}

export type ProgressFn = (progress: number, message: string) => void;

/** How containers reach the hub, worked out by the backend at start-up (no admin setting needed). */
export interface HubReach {
  /** Base URL the servers use for the hub, e.g. http://host.docker.internal:8000 (no trailing slash). */
  hubUrl: string;
  /** Extra addresses Berth must listen on for the hub API (e.g. this machine's address on the Docker bridge). */
  extraListen: { host: string; port: number }[];
  /**
   * One line for the start-up log saying how containers reach the hub, e.g. "containers reach the hub
   * at http://host.docker.internal:8000 (172.17.0.1 on docker0)", or why they will likely not.
   */
  description: string;
}

/**
 * What probeHubReach found, with a one-line message saying so:
 * - ok true: proven — a server-like client fetched the hub API and it answered with its version;
 * - ok false: proven unreachable — the client ran and could not fetch it (the message says what it got);
 * - ok null: could not be checked (e.g. the image is not present locally), the message says why.
 */
export interface HubProbeResult {
  ok: boolean | null;
  message: string;
}

export interface Backend {
  readonly kind: string;
  /** Address the server binds inside its container/process, used in JUPYTERHUB_SERVICE_URL (0.0.0.0 for containers). */
  readonly bindIp: string;
  /**
   * Checks the backend is reachable and prepares shared resources (networks). Throws
   * ServiceError('Unavailable') with one actionable sentence when it is not (e.g. Docker down).
   */
  init(hub: { port: number; connectUrl?: string | undefined }): Promise<HubReach>;
  /**
   * Starts a server: image check/pull → remove stale → create → start → address. Returns once the
   * process runs (not once it answers HTTP: the spawn runner waits for that). Reports progress.
   * Throws SpawnError on failure, having cleaned up what it created (volumes are kept). Honors `signal`.
   */
  start(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<StartResult>;
  /**
   * Optional: what comes before start and may take long — the image check and pull. The runner calls
   * it before spawner.start_timeout starts counting (spawner.pull_timeout bounds a pull), then start()
   * with the same spec object, which uses what prepare found instead of pulling again. Throws
   * SpawnError like start(); honours `signal`.
   */
  prepare?(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal): Promise<void>;
  /** Stops and removes the server's container/process; keeps its home volume. Idempotent: a missing ref is success. */
  stop(ref: BackendRef): Promise<void>;
  poll(ref: BackendRef): Promise<PollResult>;
  /** Everything this backend manages, found by label (for adoption and reconciliation). */
  list(): Promise<ListedServer[]>;
  /** The last `tail` lines of the server's output ('' when unknown). */
  logs(ref: BackendRef, tail: number): Promise<string>;
  /**
   * Optional capability: proves that a server started now could reach the hub API at `hubUrl` (the
   * hub as servers address it, e.g. HubReach.hubUrl, with base_url when it is not "/"), by GETting
   * `<hubUrl>/hub/api/` from where a server runs, with the same networking a server gets. Never
   * pulls an image; bounded in time; leaves nothing behind; never throws for an unreachable hub.
   * `creator` (the calling process's instance id) is recorded with whatever the probe runs in, so a
   * probe left by a process killed mid-probe can be told from one still running (removeStaleProbes).
   */
  probeHubReach?(hubUrl: string, opts?: { signal?: AbortSignal | undefined; creator?: string | undefined }): Promise<HubProbeResult>;
  /**
   * Optional capability (with probeHubReach): removes the probes a killed process left behind —
   * those whose creator `isGone` says is gone, and those older than the probe's own time bound at
   * `now` (ms), whoever made them. A probe of a live creator within its bound is never touched.
   * Returns how many it removed.
   */
  removeStaleProbes?(isGone: (creator: string) => boolean, now: number): Promise<number>;
  /** Optional capability (prune): the home volumes this backend created, found by label. */
  listVolumes?(): Promise<ListedVolume[]>;
  /** Optional capability (prune): removes one home volume; only ever called by an explicit admin choice. */
  removeVolume?(name: string): Promise<void>;
  /**
   * Optional capability (pre-pull): makes `image` present where servers start, honouring the pull
   * policy ('never' does nothing, 'if-not-present' pulls only a missing image). Says what it did.
   */
  pullImage?(image: string, signal?: AbortSignal): Promise<'pulled' | 'present' | 'skipped'>;
  /** Releases clients and timers (tests). */
  close?(): Promise<void>;
}
