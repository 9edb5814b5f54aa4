// A real OpenID provider for tests: npm `oidc-provider` (certified) on 127.0.0.1 with a port of
// its own, PKCE required for every client, its built-in development login and consent pages, a
// fixed set of accounts (preferred_username, email, email_verified, groups), and knobs a test
// turns: the ID-token lifetime (a negative one issues already-expired tokens) and whether scope
// claims go into the ID token or only to userinfo. `signIn` plays a browser through its pages.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { CookieJar } from './browser.ts';

// oidc-provider ships no type declarations (and @types/oidc-provider is not a dependency): the
// few parts used here, typed locally; the specifier is not a literal so tsc does not look for more.
export type ClientMetadata = { client_id: string; client_secret?: string; redirect_uris: string[]; grant_types?: string[]; token_endpoint_auth_method?: string } & Record<string, unknown>;
interface OidcClient { grantTypeAllowed(type: string): boolean }
export interface Provider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: 'server_error', fn: (ctx: unknown, err: Error) => void): void;
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => Provider;
const loadProvider = async () => ((await import('oidc-provider' as string)) as { default: ProviderClass }).default;

export interface Account {
  preferred_username?: string;
  name?: string;
  email?: string;
  email_verified?: boolean;
  groups?: string[] | string;
}

export interface OidcPeerOptions {
  clients: ClientMetadata[];
  /** By subject (what the login page's "login" field names). */
  accounts: Record<string, Account>;
  /** oidc-provider's conformIdTokenClaims: true keeps scope claims out of the ID token (userinfo only). */
  conformIdTokenClaims?: boolean;
}

export interface OidcPeer {
  issuer: string;
  provider: Provider;
  /** Changed by tests while the provider runs. */
  knobs: { idTokenTtlSeconds: number };
  close(): Promise<void>;
}

export async function startOidcProvider(opts: OidcPeerOptions): Promise<OidcPeer> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => handler ? handler(req, res) : res.writeHead(503).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const knobs = { idTokenTtlSeconds: 3600 };
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const Provider = await loadProvider();
  const provider = new Provider(issuer, {
    clients: opts.clients,
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' } as never] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    findAccount: (_ctx: unknown, sub: string) => {
      const account = opts.accounts[sub];
      return account ? { accountId: sub, claims: () => ({ sub, ...account }) } : undefined;
    },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name', 'groups'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: opts.conformIdTokenClaims ?? false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: { IdToken: () => knobs.idTokenTtlSeconds, AccessToken: 3600, RefreshToken: 86_400, Interaction: 600, Session: 3600, Grant: 3600 },
    // refresh tokens for clients that ask for offline_access (with prompt=consent, as OIDC requires)
    issueRefreshToken: (_ctx: unknown, client: OidcClient, code: { scopes: Set<string> }) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err));
  handler = provider.callback();
  return {
    issuer, provider, knobs,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const formAction = (html: string) => {
  const m = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no form on the provider's page:\n${html.slice(0, 500)}`);
  return m[1]!.replace(/&amp;/g, '&');
};

/**
 * Plays a browser at the provider: from its authorize URL through its login page (any password
 * does for devInteractions) and consent page, following its redirects with its own cookies, to the
 * redirect back to the client. Returns that URL (the callback with code, state and iss).
 */
export async function signIn(authorizeUrl: string, login: string, jar = new CookieJar()): Promise<string> {
  const origin = new URL(authorizeUrl).origin;
  let url = authorizeUrl;
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const u = new URL(url);
    if (u.origin !== origin) return url; // back to the client
    const headers: Record<string, string> = { cookie: jar.header(u.pathname) };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    jar.store(res.headers.getSetCookie(), u.pathname);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`provider answered ${res.status} at ${u.pathname}: ${html.slice(0, 500)}`);
    method = 'POST';
    url = new URL(formAction(html), url).href;
    body = html.includes('name="login"')
      ? new URLSearchParams({ prompt: 'login', login, password: 'any password' }).toString()
      : new URLSearchParams({ prompt: 'consent' }).toString();
  }
  throw new Error('too many redirects at the provider');
}
