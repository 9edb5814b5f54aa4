// `backend:` — which backend new servers start on, with the settings only that kind has. A
// discriminated union on `kind`; the bare word (`backend: docker`) still reads as `{kind: docker}`.
// What every Docker-based kind shares (engine address, pull policy, home volume, mounts, labels,
// extra host config, devices) stays in `docker:`.
import { z } from 'zod';

const userName = z.string().min(1);

/** docker: one container per server (DockerSpawner). Its settings are `docker:`. */
const dockerBackend = z.object({ kind: z.literal('docker') }).strict();

/** A placement preference, SwarmSpawner's `placement.preferences`: spread over a node label. */
const spreadPreference = z.string().regex(/^spread=node\.labels\.[A-Za-z0-9_.-]+$/, 'as "spread=node.labels.<label>"');

/** swarm: one service per server (SwarmSpawner); Docker Swarm picks the node. */
const swarmBackend = z
  .object({
    kind: z.literal('swarm'),
    /** The attachable overlay network the services join (Berth creates it when missing, labelled). */
    network: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).default('berth-servers'),
    /** Placement constraints, as `docker service create --constraint`: "node.role==worker", "node.labels.gpu==true". */
    constraints: z.array(z.string().regex(/^[^=!]+(==|!=)[^=]+$/, 'as "<attribute>==<value>" or "<attribute>!=<value>"')).default([]),
    /** Placement preferences: "spread=node.labels.zone". */
    preferences: z.array(spreadPreference).default([]),
    /** Generic resources every server reserves (GPUs advertised by nodes), e.g. {"NVIDIA-GPU": 1}. */
    generic_resources: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), z.number().int().positive()).default({}),
    /** Driver of the home volumes (e.g. "local" with NFS options, or a plugin); each node creates its own copy otherwise. */
    volume_driver: z.string().min(1).optional(),
    volume_driver_options: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const posixId = z.number().int().min(0).max(2 ** 31 - 1);

/** system-user: containers run as the host user with the host home (SystemUserSpawner). */
const systemUserBackend = z
  .object({
    kind: z.literal('system-user'),
    /** Host home, bind-mounted: `{username}` is the user's name (a POSIX name, never escaped). Must exist. */
    home: z.string().startsWith('/').includes('{username}').default('/home/{username}'),
    /** Where the home appears in the container (SystemUserSpawner's image_homedir_format_string). */
    home_target: z.string().startsWith('/').default('/home/{username}'),
    /**
     * Where uid, gid and home come from, first answer wins: the login provider's claims (LDAP
     * uidNumber/gidNumber/homeDirectory), the `users` table below, the host's passwd.
     */
    sources: z.array(z.enum(['claims', 'table', 'passwd'])).min(1).default(['claims', 'table', 'passwd']),
    users: z.record(userName, z.object({ uid: posixId, gid: posixId, home: z.string().startsWith('/').optional() }).strict()).default({}),
    /** The passwd file read for 'passwd' (the host's; a mounted copy when Berth runs in a container). */
    passwd_file: z.string().startsWith('/').default('/etc/passwd'),
    /** uids below this are refused (root and system accounts never get a server). */
    min_uid: posixId.default(1000),
    /**
     * Start the container as root with NB_UID/NB_GID/NB_USER set, so the image's start script creates
     * the user and drops to it (docker-stacks images); otherwise it runs as uid:gid from the start.
     */
    run_as_root: z.boolean().default(false),
  })
  .strict();

/** fake: servers are HTTP listeners inside Berth (tests, demos without Docker). */
const fakeBackend = z.object({ kind: z.literal('fake') }).strict();

const kinds = z.discriminatedUnion('kind', [dockerBackend, swarmBackend, systemUserBackend, fakeBackend]);

export const BACKEND_KINDS = ['docker', 'swarm', 'system-user', 'fake'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export const backendSchema = z
  .union([z.enum(BACKEND_KINDS), kinds])
  .transform((v) => (typeof v === 'string' ? kinds.parse({ kind: v }) : v));

export type BackendConfig = z.output<typeof kinds>;
export type SwarmConfig = z.output<typeof swarmBackend>;
export type SystemUserConfig = z.output<typeof systemUserBackend>;
