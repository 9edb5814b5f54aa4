// Reads the config file (YAML or JSON), expands ${ENV} references, applies BERTH_* environment
// overrides and validates with the one schema, reporting every bad key at once.
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.ts';
import { profileProblems } from './profiles-schema.ts';
import { groupNamespaceProblems, openProviderProblems, ownAllowRules, providerName } from '../auth/providers/allow-rules.ts';
import { authStateKeyProblems } from '../auth/auth-state.ts';
import { serviceOAuth } from '../services/services/spec.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[], readonly source: string) {
    // one problem, one line (what an admin sees first in a container log); several, one line each
    super(problems.length === 1 ? `invalid configuration (${source}): ${problems[0]}` : `invalid configuration (${source}):\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Plain variables for the common settings, so a container or script can run Berth with no file. */
const ALIASES: Record<string, string> = {
  BERTH_IP: 'hub.ip',
  BERTH_PORT: 'hub.port',
  BERTH_BASE_URL: 'hub.base_url',
  BERTH_DATA_DIR: 'hub.data_dir',
  BERTH_DB_URL: 'hub.db_url',
  BERTH_DB_AUTH_TOKEN: 'hub.db_auth_token',
  BERTH_LOG_LEVEL: 'hub.log_level',
  BERTH_HUB_CONNECT_URL: 'hub.hub_connect_url',
  BERTH_IMAGE: 'spawner.image',
  BERTH_SHARED_PASSWORD: 'auth.shared_password',
  BERTH_ADMIN_PASSWORD: 'auth.admin_password',
  BERTH_BACKEND: 'backend',
  BERTH_DOCKER_NETWORK: 'docker.network',
  BERTH_PULL_POLICY: 'docker.pull_policy',
  BERTH_WEBHOOK_SECRET: 'webhooks.secret',
};

/** Sections the generic form reaches: BERTH_<SECTION>_<KEY>; nested ones by their own short name. */
const SECTIONS: Record<string, string[]> = {
  HUB: ['hub'], AUTH: ['auth'], SPAWNER: ['spawner'], DOCKER: ['docker'], WORKER: ['worker'], WEBHOOKS: ['webhooks'],
  CULL: ['worker', 'cull'], PRUNE: ['worker', 'prune'], PREPULL: ['worker', 'prepull'],
};

type Shaped = { shape?: Record<string, unknown>; unwrap?: () => Shaped };
const shapeOf = (s: unknown): Record<string, unknown> | undefined => {
  let cur = s as Shaped | undefined;
  while (cur && !cur.shape && cur.unwrap) cur = cur.unwrap(); // through .default()
  return cur?.shape;
};

/** Generic form: BERTH_<SECTION>_<KEY>, e.g. BERTH_SPAWNER_HTTP_TIMEOUT=60 → spawner.http_timeout, BERTH_CULL_TIMEOUT=3600 → worker.cull.timeout. */
function genericPath(name: string): string | undefined {
  const m = new RegExp(`^BERTH_(${Object.keys(SECTIONS).join('|')})_([A-Z0-9_]+)$`).exec(name);
  if (!m) return undefined;
  const section = SECTIONS[m[1]!]!;
  const key = m[2]!.toLowerCase();
  const shape = section.reduce<Record<string, unknown> | undefined>((sh, part) => shapeOf(sh?.[part]), configSchema.shape);
  return shape && key in shape && !shapeOf(shape[key]) ? [...section, key].join('.') : undefined;
}

/** Environment values are YAML scalars: "8000" → 8000, "true" → true, "[a, b]" → list. */
function scalar(v: string): unknown {
  try {
    const parsed = parseYaml(v);
    return parsed === null ? v : parsed;
  } catch {
    return v;
  }
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown) {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

function expandEnv(value: unknown, env: Env, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, dflt?: string) => {
      const v = env[name] ?? dflt;
      if (v === undefined) problems.push(`${path || '(root)'}: environment variable ${name} is not set (use \${${name}:-default} for a default)`);
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, path ? `${path}.${k}` : k, problems)]));
  }
  return value;
}

export interface LoadedConfig {
  config: Config;
  source: string;
}

/** Loads and validates; throws ConfigError naming each bad key. */
export function loadConfig(opts: { file?: string | undefined; env?: Env } = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.BERTH_CONFIG;
  const source = file ?? 'embedded defaults';
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError([`file not found: ${file}`], source);
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8')); // YAML is a superset of JSON
    } catch (e) {
      throw new ConfigError([`not valid YAML/JSON: ${(e as Error).message.split('\n')[0]}`], source);
    }
    if (parsed != null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new ConfigError(['the top level must be a mapping of sections (hub, auth, services, spawner, docker, worker, webhooks)'], source);
    raw = (expandEnv(parsed ?? {}, env, '', problems) as Record<string, unknown>) ?? {};
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('BERTH_') || value === undefined || name === 'BERTH_CONFIG' || name === 'BERTH_ADMIN_TOKEN' || name === 'BERTH_AUTH_STATE_KEY') continue;
    const path = ALIASES[name] ?? genericPath(name);
    // secrets, URLs and paths are taken as written: a token of digits must not become a number
    if (path) setPath(raw, path, path.endsWith('password') || path.endsWith('secret') || path.endsWith('_token') || path === 'spawner.image' || path.endsWith('_url') || path.endsWith('dir') ? value : scalar(value));
  }
  // BERTH_ADMIN_TOKEN: an admin-scoped API token for scripts, as a built-in service.
  if (env.BERTH_ADMIN_TOKEN) {
    const services = (Array.isArray(raw.services) ? raw.services : []) as unknown[];
    raw.services = [...services, { name: 'admin-token', api_token: env.BERTH_ADMIN_TOKEN, admin: true }];
  }
  // JUPYTERHUB_CRYPT_KEY's form: keys separated by ';', the first one encrypts.
  if (env.BERTH_AUTH_STATE_KEY) setPath(raw, 'auth.auth_state.keys', env.BERTH_AUTH_STATE_KEY.split(';').map((k) => k.trim()).filter(Boolean));
  // Embedded defaults: shared-password login is the gate, so it implies allow_all unless the file says otherwise.
  const auth = (raw.auth ?? {}) as Record<string, unknown>;
  if (!file && auth.allow_all === undefined) setPath(raw, 'auth.allow_all', true);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.') || '(root)';
      problems.push(issue.code === 'unrecognized_keys' ? `${key ? key + ': ' : ''}unknown key(s) ${issue.keys.join(', ')}` : `${key}: ${issue.message}`);
    }
  }
  if (problems.length || !result.success) throw new ConfigError(problems, source);
  const config = result.data;
  const names = new Set<string>();
  for (const s of config.services) {
    if (names.has(s.name)) problems.push(`services: duplicate name ${s.name}`);
    names.add(s.name);
  }
  const clientIds = new Map<string, string>();
  for (const s of config.services) {
    const o = serviceOAuth(s, config.hub.base_url);
    if (!o) continue;
    const other = clientIds.get(o.clientId);
    if (other) problems.push(`services: ${other} and ${s.name} have the same oauth_client_id ${o.clientId}`);
    clientIds.set(o.clientId, s.name);
  }
  const providers = new Set<string>();
  for (const p of config.auth.providers) {
    if (providers.has(providerName(p))) problems.push(`auth.providers: two providers named "${providerName(p)}" (give one a different name:)`);
    providers.add(providerName(p));
  }
  problems.push(...openProviderProblems(config.auth), ...groupNamespaceProblems(config), ...authStateKeyProblems(config.auth.auth_state.keys), ...profileProblems(config));
  // a hub-wide allow_all would make every provider's own rule meaningless (an old shared-password
  // config gaining a GitHub provider with allowed_organizations would let all of GitHub in)
  const ruled = config.auth.providers.filter((p) => ownAllowRules(p).length > 0);
  if (config.auth.allow_all && ruled.length) {
    problems.push(`auth.allow_all: true lets everyone in through ${ruled.map(providerName).join(', ')} too, making ${ruled.length > 1 ? 'their' : 'its'} ${ruled.flatMap(ownAllowRules).join(', ')} meaningless — put allow_all on the provider entries that should be open instead`);
  }
  if (problems.length) throw new ConfigError(problems, source);
  return { config, source };
}

export function dbUrl(config: Config): string {
  return config.hub.db_url ?? `file:${config.hub.data_dir.replace(/\/$/, '')}/berth.db`;
}
