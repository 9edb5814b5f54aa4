// The one configuration schema. Every key has a default (the embedded defaults), so Berth starts
// with no file at all. JupyterHub / DockerSpawner equivalents are named where one exists.
import { Cron } from 'croner';
import { z } from 'zod';
import { sharedPasswordConfig } from '../auth/providers/shared-password/config.ts';
import { oidcConfig } from '../auth/providers/oidc/config.ts';
import { githubConfig } from '../auth/providers/github/config.ts';
import { gitlabConfig } from '../auth/providers/gitlab/config.ts';
import { ldapConfig } from '../auth/providers/ldap/config.ts';
import { casConfig } from '../auth/providers/cas/config.ts';
import { isValidScope } from '../auth/scopes.ts';
import { backendSchema } from './backend-schema.ts';
import { byteSize, mountSchema, sizeInBytes, volumeTemplateProblem } from './mount-schema.ts';
import { allowedImagesSchema, profilesSchema } from './profiles-schema.ts';

const seconds = z.number().positive();
const pep440 = z.string().regex(/^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$/, 'a PEP 440 version like 5.3.0');
const userName = z.string().min(1).max(255);
/** A cron expression croner accepts (checked here, so a typo fails at start-up, not at 8:45 on Monday). */
const cronExpr = z.string().min(1).refine((e) => {
  try { new Cron(e, { paused: true }).stop(); return true; } catch { return false; }
}, 'a cron expression like "45 8 * * 1-5" (minute hour day month weekday, seconds optional in front)');

export const hubSchema = z
  .object({
    /** JupyterHub.ip / port: where Berth listens (hub pages, API and proxy on one port). */
    ip: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    /** JupyterHub.base_url. */
    base_url: z.string().startsWith('/').endsWith('/').default('/'),
    /** Advertised JupyterHub version; single-user servers and the culler parse it as PEP 440. */
    api_version: pep440.default('5.3.0'),
    data_dir: z.string().default('./data'),
    /** libSQL URL; default file:<data_dir>/berth.db. */
    db_url: z.string().optional(),
    /** The libSQL server's auth token, usually `${BERTH_DB_AUTH_TOKEN}`; unused for a local file. */
    db_auth_token: z.string().optional(),
    /** JupyterHub.cookie_max_age_days, also the OAuth token lifetime. */
    cookie_max_age_days: z.number().positive().default(14),
    /** JupyterHub's slow_spawn_timeout / slow_stop_timeout: how long a POST/DELETE waits before 202. */
    slow_spawn_timeout: seconds.default(10),
    slow_stop_timeout: seconds.default(10),
    /** Spawns run at most this many at once; the rest wait in a visible queue (not HTTP 429). */
    concurrent_spawn_limit: z.number().int().positive().default(20),
    shutdown_on_logout: z.boolean().default(false),
    /**
     * JupyterHub.allow_named_servers: `/users/:name/servers/:server` routes. On by default (JupyterHub's
     * is off): each named server is its own container with its own home volume.
     */
    allow_named_servers: z.boolean().default(true),
    /** JupyterHub.named_server_limit_per_user: named servers a user may have besides the default one; 0 means unlimited. */
    named_server_limit_per_user: z.number().int().min(0).default(5),
    /** A URL the containers use to reach the hub API (JupyterHub.hub_connect_url). Worked out when unset. */
    hub_connect_url: z.string().url().optional(),
    /** JupyterHub.hub_ip / hub_port: where `berth api` listens when it runs apart from the proxy. */
    hub_ip: z.string().default('127.0.0.1'),
    hub_port: z.number().int().min(1).max(65535).default(8081),
    /** Where `berth proxy` sends everything that is not a user's server; default http://<hub_ip>:<hub_port>. */
    api_url: z.string().url().optional(),
    log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  })
  .strict();

/** One entry per login provider: a discriminated union on `kind` (src/auth/providers/<kind>/config.ts). */
export const providerSchema = z.discriminatedUnion('kind', [sharedPasswordConfig, oidcConfig, githubConfig, gitlabConfig, ldapConfig, casConfig]);

export const authSchema = z
  .object({
    /** Login providers, one button each on the login page (form providers share the form). */
    providers: z.array(providerSchema).min(1, 'at least one provider').default([{ kind: 'shared-password', allow_all: false, username_prefix: '', group_prefix: '' }]),
    /** Authenticator.auto_login: with one redirect provider and no form, /hub/login goes straight to it. */
    auto_login: z.boolean().default(false),
    /** SharedPasswordAuthenticator.user_password: any allowed name plus this password logs in. */
    shared_password: z.string().min(8, 'at least 8 characters').optional(),
    /** SharedPasswordAuthenticator.admin_password: admin_users log in with this one. Generated when unset. */
    admin_password: z.string().min(8, 'at least 8 characters').optional(),
    /**
     * Authenticator.admin_users. Unset: only the shared-password provider's bootstrap admin, "admin",
     * who logs in with admin_password — never whoever a delegated provider calls "admin".
     */
    admin_users: z.array(userName).optional(),
    /** Authenticator.allowed_users. */
    allowed_users: z.array(userName).default([]),
    /** Authenticator.blocked_users: never log in, whatever else matches. */
    blocked_users: z.array(userName).default([]),
    /** OAuthenticator.allowed_groups: members of any of these groups (as the provider names them) may log in. */
    allowed_groups: z.array(z.string().min(1)).default([]),
    /** OAuthenticator.admin_groups: members are admins; when set, an admin who left them is demoted at login. */
    admin_groups: z.array(z.string().min(1)).default([]),
    /** Authenticator.allow_all, for every provider. Must be said explicitly; the embedded default (shared password) says it. */
    allow_all: z.boolean().default(false),
    /** Authenticator.username_map: provider name (after lower-casing) → Berth name. */
    username_map: z.record(z.string(), userName).default({}),
    /** Authenticator.enable_auth_state + JUPYTERHUB_CRYPT_KEY: provider tokens and attributes kept encrypted. */
    auth_state: z
      .object({
        /**
         * AES-256-GCM keys, 32 bytes each as 64 hex digits or base64 (`openssl rand -hex 32`),
         * usually `${BERTH_AUTH_STATE_KEY}` (keys separated by ';'). The first encrypts; all decrypt,
         * so a new key goes first and the old one stays until every user has logged in again.
         * No key: auth state is not kept.
         */
        keys: z.array(z.string().min(1)).default([]),
        /** Environment of spawned servers from auth state: VAR → auth state key (e.g. GITHUB_TOKEN: access_token). */
        environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
        /** Authenticator.auth_refresh_age: at spawn, refresh through the provider when older than this (seconds). */
        refresh_age: seconds.default(300),
      })
      .strict()
      .default({ keys: [], environment: {}, refresh_age: 300 }),
    /** Failed password-like logins (shared password, LDAP) allowed per window, per user and per address. */
    login_attempts: z
      .object({
        per_user: z.number().int().positive().default(5),
        per_address: z.number().int().positive().default(30),
        window_seconds: seconds.default(300),
      })
      .strict()
      .default({ per_user: 5, per_address: 30, window_seconds: 300 }),
  })
  .strict();

/** JupyterHub's keys for hub-managed services, which Berth does not have: it never starts a service. */
const notManaged = z.undefined({ error: 'Berth does not start services: run the service yourself (systemd, a container…) and give its url' }).optional();
const httpUrlSchema = z.string().refine((u) => {
  try { return ['http:', 'https:'].includes(new URL(u).protocol); } catch { return false; }
}, 'an http:// or https:// URL such as http://127.0.0.1:10101');

/**
 * One entry of JupyterHub's `c.JupyterHub.services`, externally managed (Berth never runs it). A
 * service with `url` is proxied at `<base_url>services/<name>/` and, like any service with OAuth
 * settings, is an OAuth client of the hub whose secret is its api_token. Defaults of the optional
 * keys are applied in src/services/services/spec.ts (they depend on name and base_url).
 */
export const serviceSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ -'),
    /**
     * services[].api_token: at least 8 characters, usually `${CULLER_TOKEN}`. Always required: it is
     * the service's API token and, for a service with OAuth, its OAuth client secret (as in JupyterHub).
     */
    api_token: z.string().min(8, 'at least 8 characters'),
    admin: z.boolean().default(false),
    /** Scopes the service's token grants (JupyterHub roles), e.g. the culler's list:users, read:servers... */
    scopes: z.array(z.string()).default([]),
    /** Service.url: where the service listens; the proxy sends `<base_url>services/<name>/…` there, full path kept. */
    url: httpUrlSchema.optional(),
    /** Service.oauth_client_id: default `service-<name>`; must start with `service-`. */
    oauth_client_id: z.string().regex(/^service-\S+$/, "must start with 'service-' (as JupyterHub requires)").optional(),
    /** Service.oauth_redirect_uri: default `<base_url>services/<name>/oauth_callback` when url is set; required otherwise. */
    oauth_redirect_uri: z.string().min(1).optional(),
    /** Service.oauth_client_allowed_scopes: the most (and the default) a token from the service's OAuth may carry. */
    oauth_client_allowed_scopes: z.array(z.string().refine(isValidScope, 'not a scope Berth knows')).optional(),
    /** Service.oauth_no_confirm: skip the "Authorize access" page for this service. */
    oauth_no_confirm: z.boolean().optional(),
    /** Service.display: list the service in the hub's UI (default true). Kept for the services API. */
    display: z.boolean().optional(),
    /** Service.info: free-form details about the service. Kept for the services API. */
    info: z.record(z.string(), z.unknown()).optional(),
    /**
     * Who holds `access:services!service=<name>`, i.e. may log in to the service through the hub's
     * OAuth (admins always do). In JupyterHub this is a role in load_roles granting that scope:
     * access_all_users to the `user` role, access_users / access_groups to a role's users / groups.
     */
    access_all_users: z.boolean().optional(),
    access_users: z.array(userName).optional(),
    access_groups: z.array(z.string().min(1)).optional(),
    command: notManaged,
    environment: notManaged,
    cwd: notManaged,
    user: notManaged,
  })
  .strict()
  .superRefine((s, ctx) => {
    // JupyterHub: OAuth settings without a url need an explicit redirect URI (nothing to derive it from)
    if (!s.url && !s.oauth_redirect_uri && (s.oauth_client_id !== undefined || s.oauth_no_confirm === true)) {
      ctx.addIssue({ code: 'custom', path: ['oauth_redirect_uri'], message: 'required for a service with OAuth settings but no url' });
    }
  });

export const spawnerSchema = z
  .object({
    /** DockerSpawner.image. */
    image: z.string().min(1).default('quay.io/jupyter/base-notebook:latest'),
    /** Spawner.cmd; unset runs the image's CMD (docker-stacks start-notebook → start-singleuser). */
    cmd: z.array(z.string()).optional(),
    args: z.array(z.string()).default([]),
    /** Spawner.port inside the container. */
    port: z.number().int().min(1).max(65535).default(8888),
    default_url: z.string().optional(),
    /** Spawner.environment: added last, overrides everything. */
    environment: z.record(z.string(), z.string()).default({}),
    /** Spawner.mem_limit: the container's hard memory limit (HostConfig.Memory). */
    mem_limit: byteSize.optional(),
    /**
     * Spawner.mem_guarantee: HostConfig.MemoryReservation, a soft limit the kernel reclaims the
     * container down to under memory pressure (not a reservation that stops overcommit).
     */
    mem_guarantee: byteSize.optional(),
    /** Spawner.cpu_limit: CPUs the container may use (HostConfig.NanoCpus). */
    cpu_limit: z.number().positive().optional(),
    /**
     * Spawner.cpu_guarantee: plain Docker has no CPU reservation, so this is a relative weight,
     * HostConfig.CpuShares = 1024 × cpu_guarantee, that only matters while the CPUs are contended. A
     * container without it weighs 1024 (as if guaranteed 1 CPU): set it for every server or for none.
     * (DockerSpawner sets nothing for it; SwarmSpawner reserves.)
     */
    cpu_guarantee: z.number().positive().optional(),
    /**
     * DockerSpawner.post_start_cmd: run in the container (docker exec) once it has started, before the
     * readiness check. A string runs with /bin/sh -c, a list as is. Its failure is logged with its
     * output and does not fail the spawn.
     */
    post_start_cmd: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
    /** Spawner.http_timeout: how long the server may take to answer HTTP after starting. */
    http_timeout: seconds.default(30),
    /**
     * Spawner.start_timeout: create + start (+ post_start_cmd). Unlike JupyterHub's, it never includes
     * pulling the image, which pull_timeout bounds on its own: a first pull of a large image does not
     * fail a spawn that would have started.
     */
    start_timeout: seconds.default(120),
    /** How long pulling the image may take (progress shows it as a percentage meanwhile). */
    pull_timeout: seconds.default(1800),
    /** Spawner.oauth_client_allowed_scopes. */
    oauth_client_allowed_scopes: z.array(z.string()).default([]),
    /** DockerSpawner.allowed_images: images a user may pick (user_options.image); unset = only spawner.image. */
    allowed_images: allowedImagesSchema.optional(),
    /** KubeSpawner.profile_list: admin-defined choices (user_options.profile), see profiles-schema.ts. */
    profiles: profilesSchema.default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    // The engine refuses a reservation above the limit; say so at start-up, not at the first spawn.
    const bytes = (v: string | number) => (typeof v === 'number' ? v : sizeInBytes(v));
    const memOver = (g?: string | number, l?: string | number) => g !== undefined && l !== undefined && bytes(g) > bytes(l);
    const cpuOver = (g?: number, l?: number) => g !== undefined && l !== undefined && g > l;
    if (memOver(s.mem_guarantee, s.mem_limit)) ctx.addIssue({ code: 'custom', path: ['mem_guarantee'], message: 'must not be more than mem_limit' });
    if (cpuOver(s.cpu_guarantee, s.cpu_limit)) ctx.addIssue({ code: 'custom', path: ['cpu_guarantee'], message: 'must not be more than cpu_limit' });
    // profiles-schema.ts judges a profile that sets both of a pair; one that sets one inherits the other from spawner.*
    s.profiles.forEach((p, i) => {
      const inherits = (own: unknown, other: unknown) => (own === undefined) !== (other === undefined);
      if (inherits(p.mem_guarantee, p.mem_limit) && memOver(p.mem_guarantee ?? s.mem_guarantee, p.mem_limit ?? s.mem_limit)) {
        ctx.addIssue(p.mem_limit === undefined
          ? { code: 'custom', path: ['profiles', i, 'mem_guarantee'], message: 'must not be more than spawner.mem_limit, which this profile inherits' }
          : { code: 'custom', path: ['profiles', i, 'mem_limit'], message: 'must not be less than spawner.mem_guarantee, which this profile inherits' });
      }
      if (inherits(p.cpu_guarantee, p.cpu_limit) && cpuOver(p.cpu_guarantee ?? s.cpu_guarantee, p.cpu_limit ?? s.cpu_limit)) {
        ctx.addIssue(p.cpu_limit === undefined
          ? { code: 'custom', path: ['profiles', i, 'cpu_guarantee'], message: 'must not be more than spawner.cpu_limit, which this profile inherits' }
          : { code: 'custom', path: ['profiles', i, 'cpu_limit'], message: 'must not be less than spawner.cpu_guarantee, which this profile inherits' });
      }
    });
  });


/**
 * HostConfig keys docker.extra_host_config may not set: Berth's own (mounts, networking, limits…),
 * each with where to set it instead. Compared without case: the engine reads JSON keys that way.
 */
const BERTH_HOST_CONFIG: Record<string, string> = {
  mounts: 'docker.home_volume / docker.volumes', binds: 'docker.volumes', volumesfrom: 'docker.volumes',
  networkmode: 'docker.network', portbindings: 'nothing: Berth publishes the server port itself', publishallports: 'nothing: Berth publishes the server port itself',
  extrahosts: 'nothing: host.docker.internal is how servers reach the hub', links: 'docker.network',
  restartpolicy: 'nothing: a server that exits is reported as stopped, never restarted behind Berth', autoremove: 'nothing: Berth removes containers itself (and reads their last log lines first)',
  memory: 'spawner.mem_limit', memoryreservation: 'spawner.mem_guarantee', nanocpus: 'spawner.cpu_limit', cpushares: 'spawner.cpu_guarantee',
  cpuquota: 'spawner.cpu_limit (Berth sets NanoCpus, which the engine refuses beside a quota)', cpuperiod: 'spawner.cpu_limit (Berth sets NanoCpus, which the engine refuses beside a period)',
  devicerequests: 'docker.device_requests', storageopt: 'docker.storage_size',
};

/** Docker's DeviceRequests (`docker run --gpus`), in snake_case. */
const deviceRequestSchema = z
  .object({
    /** e.g. "nvidia"; unset lets the engine pick by capabilities. */
    driver: z.string().optional(),
    /** How many devices; "all" (or -1) is every one (`--gpus all`). */
    count: z.union([z.number().int().min(-1), z.literal('all')]).optional(),
    /** Which devices (`--gpus device=0,1`); not with count. */
    device_ids: z.array(z.string().min(1)).min(1).optional(),
    /** Any one of these lists, each satisfied whole: [["gpu"]] for GPUs. */
    capabilities: z.array(z.array(z.string().min(1)).min(1)).min(1).default([['gpu']]),
    options: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if ((d.count === undefined) === (d.device_ids === undefined)) ctx.addIssue({ code: 'custom', path: ['count'], message: 'set either count or device_ids (the engine takes one of them)' });
  });

const pullPolicy = z.enum(['if-not-present', 'always', 'never']);
export type PullPolicy = z.infer<typeof pullPolicy>;

export const dockerSchema = z
  .object({
    /** Engine address; default DOCKER_HOST or the local socket. */
    host: z.string().optional(),
    /** DockerSpawner.pull_policy. */
    pull_policy: pullPolicy.default('if-not-present'),
    /** DockerSpawner.network_name: a user network the containers join. When Berth itself runs on it, they reach each other by name. */
    network: z.string().optional(),
    /**
     * The servers' network is internal (created with `--internal` when missing): the engine forwards
     * nothing from it, so servers reach the hub and each other but no other network and no internet
     * (no pip/conda/apt installs, no outside DNS names, no git clone). This machine itself stays
     * reachable on its addresses: whatever listens on all interfaces here is open to servers. Berth on
     * the host then reaches servers at their address on the network's bridge (the engine publishes no
     * ports there), so the engine must run on this machine. Needs `network`; an existing network whose
     * internal flag differs is refused at start.
     */
    network_internal: z.boolean().default(false),
    /**
     * Named home volume (DockerSpawner's volumes={'jupyterhub-user-{username}': ...}): `{username}`
     * and `{servername}` templated, both escaped as in container names. A named server's volume
     * without `{servername}` in the template gets `--<escaped server name>` appended, so every
     * named server has its own volume and the default server keeps `jupyter-<user>`.
     */
    home_volume: z.string().default('jupyter-{username}').superRefine((t, ctx) => {
      if (!t.includes('{username}')) ctx.addIssue({ code: 'custom', message: 'must contain {username}: without it every user shares one home' });
      const problem = volumeTemplateProblem(t);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /**
     * The home volumes' driver and its options (`docker volume create --driver … --opt k=v`), with
     * `{username}`, `{servername}` and `{size}` (home_size in bytes) templated: how a per-user size
     * limit is set, with a driver that takes one. Unset: the engine's local driver.
     */
    home_volume_driver: z.string().min(1).optional(),
    home_volume_driver_options: z.record(z.string(), z.string()).default({}),
    /**
     * A size limit for each home volume. Docker's local driver keeps no per-volume quota on an ordinary
     * filesystem, so this needs home_volume_driver_options that take {size}; without one Berth refuses
     * to start rather than promise a limit nothing enforces. Applies to homes created from now on.
     */
    home_size: byteSize.optional(),
    /**
     * A size limit for what a server writes outside its home and mounts (pip installs, /tmp): the
     * container's own layer, `docker run --storage-opt size=…`. Only storage drivers with quotas keep
     * one (btrfs, zfs, overlay2 on xfs mounted with pquota); on another engine Berth refuses to start.
     */
    storage_size: byteSize.optional(),
    /** DockerSpawner.notebook_dir / where the volume is mounted: the image's home. */
    home_dir: z.string().startsWith('/').default('/home/jovyan'),
    /** DockerSpawner.name_template prefix. */
    name_prefix: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).max(30, "at most 30 characters (container names stay within DNS's 63)").default('jupyter'),
    /** Labels on every server container and home volume (Berth's own berth.* keys always win). */
    extra_labels: z.record(z.string(), z.string()).default({}),
    /** DockerSpawner.volumes / read_only_volumes / mounts: more mounts for every server, after the home volume. */
    volumes: z.array(mountSchema).default([]),
    /**
     * DockerSpawner.extra_host_config: Docker Engine API HostConfig keys (CapAdd, ShmSize, Ulimits…),
     * added to the container's HostConfig as given (not templated). Keys Berth sets itself are refused
     * with where to set them instead; Privileged only with allow_privileged.
     */
    extra_host_config: z.record(z.string(), z.unknown()).default({}),
    /** Lets extra_host_config set Privileged: true (a privileged container is root on the host). */
    allow_privileged: z.boolean().default(false),
    /** GPUs and other devices for every server: Docker's DeviceRequests (`--gpus`). */
    device_requests: z.array(deviceRequestSchema).default([]),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.network_internal && (!d.network || ['bridge', 'host', 'none'].includes(d.network))) {
      ctx.addIssue({ code: 'custom', path: ['network_internal'], message: `needs docker.network set to a network of its own (Berth creates it internal when missing)${d.network ? `: ${d.network} is one of Docker's default networks, which cannot be internal` : ''}` });
    }
    for (const key of Object.keys(d.extra_host_config)) {
      const path = ['extra_host_config', key];
      if (!/^[A-Z][A-Za-z0-9]*$/.test(key)) {
        ctx.addIssue({ code: 'custom', path, message: 'a Docker Engine API HostConfig key in PascalCase, e.g. ShmSize (not docker-py\'s shm_size)' });
      } else if (BERTH_HOST_CONFIG[key.toLowerCase()]) {
        ctx.addIssue({ code: 'custom', path, message: `Berth sets ${key} itself: use ${BERTH_HOST_CONFIG[key.toLowerCase()]}` });
      } else if (key.toLowerCase() === 'privileged' && d.extra_host_config[key] !== false && !d.allow_privileged) {
        ctx.addIssue({ code: 'custom', path, message: 'a privileged container is root on the host: set docker.allow_privileged: true to mean it' });
      }
    }
    const takesSize = Object.values(d.home_volume_driver_options).some((v) => v.includes('{size}'));
    if (d.home_size !== undefined && !takesSize) {
      ctx.addIssue({ code: 'custom', path: ['home_size'], message: "Docker's local volume driver keeps no per-volume size limit: set docker.home_volume_driver (a driver with quotas) and put {size} in docker.home_volume_driver_options, or remove home_size" });
    }
    if (takesSize && d.home_size === undefined) {
      ctx.addIssue({ code: 'custom', path: ['home_volume_driver_options'], message: '{size} is home_size, which is not set: set docker.home_size (e.g. 10G)' });
    }
    const targets = new Map<string, string>([[d.home_dir.replace(/\/+$/, '') || '/', 'docker.home_dir']]);
    d.volumes.forEach((v, i) => {
      const t = v.target.replace(/\/+$/, '') || '/';
      const other = targets.get(t);
      if (other) ctx.addIssue({ code: 'custom', path: ['volumes', i, 'target'], message: `${v.target} is already mounted by ${other}` });
      targets.set(t, `docker.volumes[${i}]`);
    });
  });

/** Idle culling, as jupyterhub-idle-culler does it (each key names the culler flag it replaces). */
export const cullSchema = z
  .object({
    /** Runs the cull job in the worker (instead of running jupyterhub-idle-culler as a service). */
    enabled: z.boolean().default(false),
    /** --timeout: a server idle this many seconds is stopped. */
    timeout: seconds.default(600),
    /** --cull-every: seconds between runs; 0 means timeout / 2, as the culler does. */
    every: z.number().min(0).default(0),
    /** --max-age: a server running this many seconds is stopped even when active; 0 is off. */
    max_age: z.number().min(0).default(0),
    /** --cull-users: a user whose servers are all stopped and who was idle `timeout` seconds is deleted (home volume kept). */
    users: z.boolean().default(false),
    /** --cull-admin-users: whether --cull-users deletes admins too. */
    admin_users: z.boolean().default(true),
    /** --cull-default-servers / --cull-named-servers: which servers are culled. */
    default_servers: z.boolean().default(true),
    named_servers: z.boolean().default(true),
    /** --remove-named-servers: a culled named server's record is deleted too. */
    remove_named_servers: z.boolean().default(false),
    /** --concurrency: at most this many stops at once. */
    concurrency: z.number().int().positive().default(10),
    /**
     * A server with a kernel that is busy (executing) is not idle: before stopping one for
     * inactivity, Berth asks the server's own /api/kernels (5 s at most) and a busy kernel counts as
     * activity now. An open but idle browser tab does not count; max_age still applies; a server
     * that cannot be asked is judged by activity alone. No culler flag does this.
     */
    busy_kernels: z.boolean().default(false),
  })
  .strict();

/**
 * Removing what Berth created and nothing owns any more (src/worker/jobs/prune.ts). Never touches
 * anything without Berth's labels. (When a worker takes the lease, its reconcile removes servers no
 * row owns at once; between those, they are left to this job and its grace periods.)
 */
export const pruneSchema = z
  .object({
    /** Seconds between runs. */
    every: seconds.default(300),
    /**
     * A labelled container no active server row owns (running, or created and never started), or one
     * of a deleted user, is removed once it is this many seconds old — by its creation time, so never
     * an in-flight spawn's (whose row is active before its container exists anyway).
     */
    orphan_grace: seconds.default(300),
    /** A labelled container no active row owns that ran and stopped is removed once stopped this many seconds (its logs readable until then). */
    stopped_age: seconds.default(3600),
    /**
     * Home volumes of deleted users: 'keep' (never touched), 'report' (listed in the worker status and
     * the log, nothing removed) or 'remove' (removed once reported for `volume_grace` seconds).
     * A volume of an existing user is never removed.
     */
    deleted_user_volumes: z.enum(['keep', 'report', 'remove']).default('keep'),
    volume_grace: seconds.default(7 * 86400),
  })
  .strict();

/** Pulling images before anyone waits for them. */
export const prepullSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Images pulled besides spawner.image. */
    images: z.array(z.string().min(1)).default([]),
    /** Seconds between runs (also run at once when the config changes). */
    every: seconds.default(6 * 3600),
  })
  .strict();

/** A cron entry that starts (and optionally stops) the servers of listed users, e.g. before a class. */
export const scheduleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ -'),
    /** Cron expression (croner syntax, seconds optional), e.g. "45 8 * * 1-5". */
    start: cronExpr,
    /** Cron expression for stopping the same servers; unset leaves them to the culler. */
    stop: cronExpr.optional(),
    /** IANA time zone of the expressions, e.g. "Europe/Berlin"; default the machine's. */
    timezone: z.string().optional(),
    users: z.array(userName).min(1),
    /** Named server to start; '' is the default server. */
    server: z.string().default(''),
  })
  .strict();

export const workerSchema = z
  .object({
    /**
     * How long the worker's lease lasts unrenewed. A worker that dies is replaced within this (at
     * once when it was a process on the same machine); its spawns are adopted or failed.
     */
    lease_seconds: seconds.min(1).default(10),
    /** Where the worker listens for wake-ups from api processes (port 0: any free port; the lease records it). */
    ip: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(0),
    /** Seconds between deletions of expired tokens, OAuth codes and login sessions. */
    expire_every: seconds.default(600),
    /** Seconds between reconciliations of the database with the backend (also done when a worker takes the lease). */
    reconcile_every: seconds.default(60),
    /** Progress events of earlier spawns are deleted once this many seconds old (the latest spawn's stay). */
    events_max_age: seconds.default(7 * 86400),
    cull: cullSchema.default(cullSchema.parse({})),
    prune: pruneSchema.default(pruneSchema.parse({})),
    prepull: prepullSchema.default(prepullSchema.parse({})),
    schedules: z.array(scheduleSchema).default([]),
  })
  .strict();

/**
 * Webhook-triggered spawns: POST /hub/api/webhooks/spawn {"action": "start"|"stop", "users": [...]},
 * authenticated by `X-Berth-Timestamp: <unix seconds>` and `X-Berth-Signature: sha256=<hex>` with
 * hex = HMAC-SHA256(secret, "<timestamp>.<body>") (off until a secret is set).
 */
export const webhooksSchema = z
  .object({
    /** The shared secret, usually `${BERTH_WEBHOOK_SECRET}`; unset, the endpoint answers 404. */
    secret: z.string().min(16, 'at least 16 characters').optional(),
    /**
     * A signature's timestamp may be at most this many seconds before or after now; within it, the
     * same signature is accepted once (a replay is 409).
     */
    tolerance_seconds: seconds.default(300),
    /** At most this many users per call (400 beyond). */
    max_users: z.number().int().positive().default(500),
  })
  .strict();

export const configSchema = z
  .object({
    hub: hubSchema.default(hubSchema.parse({})),
    auth: authSchema.default(authSchema.parse({})),
    services: z.array(serviceSchema).default([]),
    backend: backendSchema.default({ kind: 'docker' }),
    spawner: spawnerSchema.default(spawnerSchema.parse({})),
    docker: dockerSchema.default(dockerSchema.parse({})),
    worker: workerSchema.default(workerSchema.parse({})),
    webhooks: webhooksSchema.default(webhooksSchema.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.backend.kind === 'swarm' && c.docker.storage_size !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['docker', 'storage_size'], message: 'swarm services have no per-container storage limit (no --storage-opt): remove docker.storage_size, or limit homes with docker.home_size' });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
