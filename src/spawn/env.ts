// The environment a single-user server starts with (spec A.2): everything jupyterhub-singleuser reads
// from the hub, in JupyterHub 5's names and formats, then the admin's spawner.environment on top.
import type { Config } from '../config/schema.ts';
import { accessScopes } from '../auth/scopes.ts';
import { escapePath, oauthClientId, serverPrefix } from '../names.ts';
import { hubApiUrl, hubUrlForServers } from '../backends/hub-probe.ts';

export interface EnvInput {
  config: Config;
  /** Where containers reach the hub, e.g. http://host.docker.internal:8000 (no trailing slash). */
  hubUrl: string;
  /** Address the server binds (backend.bindIp). */
  bindIp: string;
  user: string;
  server: string;
  /** The server's own API token (also its OAuth client secret). */
  token: string;
  image: string;
  memLimit?: number | undefined;
  cpuLimit?: number | undefined;
  /** From the user's auth state (auth.auth_state.environment); secrets, so outside the config hash. */
  authEnv?: Record<string, string> | undefined;
}

/** Python's json.dumps of a list of strings (", " between items), as JupyterHub writes these variables. */
const pyJsonList = (items: string[]) => `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;

export function serverEnv(input: EnvInput): Record<string, string> {
  const { config, user, server, token } = input;
  const base = config.hub.base_url;
  const prefix = serverPrefix(base, user, server);
  const api = hubApiUrl(hubUrlForServers(input.hubUrl, base));
  const host = input.bindIp.includes(':') ? `[${input.bindIp}]` : input.bindIp; // 5.x brackets IPv6
  const scopes = pyJsonList(accessScopes(user, server));
  const env: Record<string, string> = {
    JUPYTERHUB_API_TOKEN: token,
    JPY_API_TOKEN: token,
    JUPYTERHUB_CLIENT_ID: oauthClientId(user, server),
    JUPYTERHUB_API_URL: api,
    JUPYTERHUB_ACTIVITY_URL: `${api}/users/${escapePath(user)}/activity`,
    JUPYTERHUB_BASE_URL: base,
    JUPYTERHUB_SERVICE_PREFIX: prefix,
    JUPYTERHUB_SERVICE_URL: `http://${host}:${config.spawner.port}${prefix}`,
    JUPYTERHUB_OAUTH_CALLBACK_URL: `${prefix}oauth_callback`,
    JUPYTERHUB_OAUTH_ACCESS_SCOPES: scopes,
    JUPYTERHUB_OAUTH_SCOPES: scopes,
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: pyJsonList(config.spawner.oauth_client_allowed_scopes),
    JUPYTERHUB_USER: user,
    JUPYTERHUB_SERVER_NAME: server,
    JUPYTERHUB_HOST: '',
    JUPYTERHUB_PUBLIC_URL: '',
    JUPYTERHUB_PUBLIC_HUB_URL: '',
    JUPYTER_IMAGE_SPEC: input.image,
  };
  if (config.spawner.default_url) env.JUPYTERHUB_DEFAULT_URL = config.spawner.default_url;
  if (input.memLimit !== undefined) env.MEM_LIMIT = String(input.memLimit);
  if (input.cpuLimit !== undefined) env.CPU_LIMIT = String(input.cpuLimit);
  return { ...env, ...input.authEnv, ...config.spawner.environment };
}
