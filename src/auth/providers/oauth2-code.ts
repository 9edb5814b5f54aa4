// The plain OAuth2 authorization-code flow GitHub and GitLab share (OAuthenticator's base class):
// the authorize URL with state and PKCE S256, the code exchange and the refresh through
// openid-client's primitives (client secret in the POST body, as both document), and the bearer
// API calls afterwards — JSON GETs with a timeout, pages followed only on the forge's own origin.
// Every failure becomes a LoginError whose message is safe to show; tokens never reach a message.
import { openidClient, type OpenId } from './openid-lib.ts';
import { LoginError, type Claims, type ProviderDeps, type RedirectProvider } from './types.ts';
export { insecureUrlProblem } from './common-config.ts';

const TIMEOUT_S = 15;
/** Pages followed at most (100 items each): a forge that keeps saying "next" is not followed forever. */
const MAX_PAGES = 50;

export interface TokenSet {
  access_token: string;
  token_type: string;
  /** Scopes the forge granted (GitHub separates them with commas, GitLab with spaces). */
  scope: string[];
  refresh_token?: string;
  /** When the access token expires, ms since the epoch (from expires_in); undefined: it does not. */
  expires_at?: number;
}

export interface CodeClientOptions {
  /** Shown in messages: the provider's button label ("Sign in with GitHub"). */
  label: string;
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  deps: ProviderDeps;
  /**
   * GitHub answers a refused code with 200 and an `error` member (documented under "Troubleshooting
   * OAuth app access token request errors"); read as the 400 it means.
   */
  errorsWith200?: boolean;
}

export interface CodeClient {
  begin(input: { callbackUrl: string; state: string; scope: string[] }): Promise<{ url: string; saved: { code_verifier: string } }>;
  complete(input: { callbackUrl: string; state: string; params: URLSearchParams; saved: Record<string, unknown> }): Promise<TokenSet>;
  /** undefined: the forge refused the refresh token (revoked, already used): sign in again. */
  refresh(refreshToken: string): Promise<TokenSet | undefined>;
}

/** OAuth error codes that mean the hub itself is misconfigured, not that this sign-in was refused. */
const CLIENT_PROBLEMS = new Set(['invalid_client', 'unauthorized_client', 'incorrect_client_credentials', 'redirect_uri_mismatch', 'unsupported_grant_type', 'invalid_request']);

export function codeClient(o: CodeClientOptions): CodeClient {
  const issuer = new URL(o.authorizeUrl).origin;
  // made at the first sign-in, once the library is loaded (openid-lib.ts)
  let made: Promise<{ oauth: typeof OpenId; config: OpenId.Configuration }> | undefined;
  const client = () => {
    made ??= openidClient().then((oauth) => ({ oauth, config: configure(oauth) }));
    made.catch(() => { made = undefined; }); // the next sign-in tries again
    return made;
  };
  function configure(oauth: typeof OpenId): OpenId.Configuration {
    const config = new oauth.Configuration(
      { issuer, authorization_endpoint: o.authorizeUrl, token_endpoint: o.tokenUrl },
      o.clientId,
      { client_secret: o.clientSecret },
      oauth.ClientSecretPost(o.clientSecret),
    );
    config.timeout = TIMEOUT_S;
    // the URLs were checked (insecureUrlProblem) before this client was made
    if (new URL(o.tokenUrl).protocol === 'http:') oauth.allowInsecureRequests(config);
    config[oauth.customFetch] = async (url, init) => {
      const res = await o.deps.fetch(url, init as RequestInit);
      if (!o.errorsWith200 || res.status !== 200) return res;
      const text = await res.text();
      let body: unknown;
      try { body = JSON.parse(text); } catch { body = undefined; }
      const status = body && typeof body === 'object' && 'error' in body ? 400 : 200;
      return new Response(text, { status, headers: res.headers });
    };
    return config;
  }

  const fail = (oauth: typeof OpenId, err: unknown, what: string): never => {
    if (err instanceof oauth.ResponseBodyError) {
      const detail = `${what}: ${err.status} ${err.error}${err.error_description ? ` (${err.error_description.slice(0, 200)})` : ''}`;
      if (CLIENT_PROBLEMS.has(err.error)) {
        throw new LoginError('failed', `${o.label}: the hub's OAuth application was refused`, { hint: 'Ask the hub administrator to check the client id, secret and callback URL.', detail });
      }
      throw new LoginError('refused', `${o.label}: the sign-in was refused (${err.error.slice(0, 64)})`, { hint: 'Start again from the sign-in page.', detail });
    }
    if (err instanceof oauth.AuthorizationResponseError) {
      throw new LoginError('refused', `${o.label}: the identity provider answered "${err.error.slice(0, 64)}"`, { hint: 'Try again; if you cancelled, sign in and allow access.', detail: `${what}: ${err.error}` });
    }
    const e = err as { code?: string; message?: string; cause?: { message?: string; code?: string } };
    const detail = `${what}: ${e?.code ?? ''} ${e?.message ?? String(err)}${e?.cause?.message ? ` (${e.cause.code ?? ''} ${e.cause.message})` : ''}`.trim();
    throw new LoginError('failed', `${o.label}: the identity provider could not be reached or gave an answer Berth cannot use`, { detail, cause: err });
  };

  const tokens = (t: OpenId.TokenEndpointResponse & OpenId.TokenEndpointResponseHelpers): TokenSet => {
    const expiresIn = t.expiresIn();
    return {
      access_token: t.access_token,
      token_type: t.token_type,
      scope: typeof t.scope === 'string' ? t.scope.split(/[\s,]+/).filter(Boolean) : [],
      ...(typeof t.refresh_token === 'string' ? { refresh_token: t.refresh_token } : {}),
      ...(expiresIn !== undefined ? { expires_at: o.deps.now() + expiresIn * 1000 } : {}),
    };
  };

  return {
    async begin({ callbackUrl, state, scope }) {
      const { oauth, config } = await client();
      const code_verifier = oauth.randomPKCECodeVerifier();
      const url = oauth.buildAuthorizationUrl(config, {
        redirect_uri: callbackUrl, response_type: 'code', scope: scope.join(' '), state,
        code_challenge: await oauth.calculatePKCECodeChallenge(code_verifier), code_challenge_method: 'S256',
      });
      return { url: url.href, saved: { code_verifier } };
    },
    async complete({ callbackUrl, state, params, saved }) {
      const verifier = saved.code_verifier;
      if (typeof verifier !== 'string' || !params.get('code')) {
        throw new LoginError('invalid', `${o.label}: the sign-in came back without its code`, { hint: 'Start again from the sign-in page.' });
      }
      const current = new URL(callbackUrl);
      current.search = '';
      for (const [k, v] of params) current.searchParams.append(k, v);
      const { oauth, config } = await client();
      try {
        return tokens(await oauth.authorizationCodeGrant(config, current, { pkceCodeVerifier: verifier, expectedState: state }));
      } catch (err) {
        return fail(oauth, err, 'code exchange');
      }
    },
    async refresh(refreshToken) {
      const { oauth, config } = await client();
      try {
        return tokens(await oauth.refreshTokenGrant(config, refreshToken));
      } catch (err) {
        if (err instanceof oauth.ResponseBodyError && (err.error === 'invalid_grant' || err.error === 'invalid_token')) return undefined;
        return fail(oauth, err, 'token refresh');
      }
    },
  };
}

/** A forge API answer that was not 2xx (the body's message kept for the log only). */
export class ForgeHttpError extends Error {
  constructor(readonly status: number, readonly url: string, message: string) {
    super(`${status} from ${url}${message ? `: ${message}` : ''}`);
    this.name = 'ForgeHttpError';
  }
}

export interface ApiOptions {
  deps: ProviderDeps;
  token: string;
  /** Extra headers every call carries (GitHub's Accept and API version). */
  headers?: Record<string, string>;
}

/** GET `url` with the bearer token; the parsed JSON and the headers. Throws ForgeHttpError for a non-2xx. */
export async function apiGet(url: string, o: ApiOptions): Promise<{ status: number; body: unknown; headers: Headers }> {
  let res: Response;
  try {
    res = await o.deps.fetch(url, {
      headers: { accept: 'application/json', 'user-agent': 'Berth', ...o.headers, authorization: `Bearer ${o.token}` },
      redirect: 'manual', // a redirect would carry the token elsewhere
      signal: AbortSignal.timeout(TIMEOUT_S * 1000),
    });
  } catch (err) {
    throw new ForgeHttpError(0, url, (err as Error)?.message ?? String(err));
  }
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status > 299) {
    let message = '';
    try { message = String((JSON.parse(text) as { message?: unknown; error?: unknown }).message ?? (JSON.parse(text) as { error?: unknown }).error ?? ''); } catch { /* not JSON */ }
    throw new ForgeHttpError(res.status, url, message.slice(0, 200));
  }
  if (res.status === 204 || text === '') return { status: res.status, body: undefined, headers: res.headers };
  try {
    return { status: res.status, body: JSON.parse(text) as unknown, headers: res.headers };
  } catch {
    throw new ForgeHttpError(res.status, url, 'the answer is not JSON');
  }
}

/** The URL of Link's rel="next" (RFC 8288), if any. */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

/**
 * Every item of a paged list: follows Link rel="next" (GitHub, GitLab) or GitLab's X-Next-Page,
 * only on the origin the first page came from (the token goes with each request).
 */
export async function apiGetAll(first: string, o: ApiOptions): Promise<unknown[]> {
  const origin = new URL(first).origin;
  const out: unknown[] = [];
  let url: string | undefined = first;
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const { body, headers } = await apiGet(url, o);
    if (!Array.isArray(body)) throw new ForgeHttpError(200, url, 'expected a list');
    out.push(...body);
    let next = nextLink(headers.get('link'));
    const xNext = headers.get('x-next-page');
    if (!next && xNext && /^\d+$/.test(xNext)) {
      const u: URL = new URL(url);
      u.searchParams.set('page', xNext);
      next = u.href;
    }
    if (next) {
      const n: URL = new URL(next, url);
      if (n.origin !== origin) throw new ForgeHttpError(200, url, `the next page is on another origin (${n.origin})`);
      url = n.href;
    } else url = undefined;
  }
  if (url) throw new ForgeHttpError(200, first, `more than ${MAX_PAGES} pages`);
  return out;
}

/** An API failure after the token exchange, as the login page says it (the status and URL go to the log). */
export function apiFailure(label: string, err: unknown, what: string): LoginError {
  if (err instanceof LoginError) return err;
  const detail = `${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof ForgeHttpError && err.status === 401) {
    return new LoginError('refused', `${label}: the identity provider refused to tell Berth who you are`, { hint: 'Sign in again and allow the access the hub asks for.', detail });
  }
  return new LoginError('failed', `${label}: the identity provider could not be reached or gave an answer Berth cannot use`, { detail, cause: err });
}

/** The token set stored in auth state, read back (undefined: there is no usable access token). */
export function storedTokens(state: Record<string, unknown>): TokenSet | undefined {
  const s = (k: string) => (typeof state[k] === 'string' && state[k] !== '' ? (state[k] as string) : undefined);
  const access_token = s('access_token');
  if (!access_token) return undefined;
  const scope = Array.isArray(state.scope) ? state.scope.filter((x): x is string => typeof x === 'string') : (s('scope') ?? '').split(/[\s,]+/).filter(Boolean);
  const refresh_token = s('refresh_token');
  const expires_at = typeof state.expires_at === 'number' ? state.expires_at : undefined;
  return { access_token, token_type: s('token_type') ?? 'bearer', scope, ...(refresh_token ? { refresh_token } : {}), ...(expires_at !== undefined ? { expires_at } : {}) };
}

/** Refresh a minute early, so a token handed to a server is not already dead. */
const REFRESH_EARLY_MS = 60_000;

/**
 * OAuthenticator.refresh_user: re-reads identity with the stored access token, using the refresh
 * token first when the access token has expired and again when the forge rejects the access token.
 * undefined: the stored tokens no longer work and the person must sign in again.
 */
export async function refreshIdentity<T>(input: {
  client: CodeClient; label: string; now: () => number; state: Record<string, unknown>; identity: (t: TokenSet) => Promise<T>;
}): Promise<T | undefined> {
  let tokens = storedTokens(input.state);
  if (!tokens) return undefined;
  const renew = async (t: TokenSet) => {
    if (!t.refresh_token) return undefined;
    const fresh = await input.client.refresh(t.refresh_token);
    // a forge that does not rotate refresh tokens answers without one: keep using the old one
    return fresh && { ...fresh, refresh_token: fresh.refresh_token ?? t.refresh_token };
  };
  let renewed = false;
  if (tokens.expires_at !== undefined && tokens.expires_at - REFRESH_EARLY_MS <= input.now()) {
    tokens = await renew(tokens);
    if (!tokens) return undefined;
    renewed = true;
  }
  try {
    return await input.identity(tokens);
  } catch (err) {
    if (!(err instanceof ForgeHttpError && err.status === 401)) throw apiFailure(input.label, err, 'refresh');
    if (renewed) return undefined;
  }
  const again = await renew(tokens);
  if (!again) return undefined;
  try {
    return await input.identity(again);
  } catch (err) {
    if (err instanceof ForgeHttpError && err.status === 401) return undefined;
    throw apiFailure(input.label, err, 'refresh');
  }
}

/** The auth state every forge keeps from its token answer (the forge adds its user record). */
export function tokenAuthState(tokens: TokenSet): Record<string, unknown> {
  return {
    access_token: tokens.access_token, token_type: tokens.token_type, scope: tokens.scope,
    ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
    ...(tokens.expires_at !== undefined ? { expires_at: tokens.expires_at } : {}),
  };
}

/**
 * A forge's RedirectProvider around its code client and its identity lookup: a misconfigured URL
 * (plain http off loopback) refuses every login with a page, API failures become LoginErrors, and
 * refresh re-reads identity with the stored token.
 */
export function forgeProvider(o: {
  kind: 'github' | 'gitlab'; name: string; label: string; forge: string; deps: ProviderDeps;
  problem: string | undefined; client: CodeClient; scope: string[];
  identity: (tokens: TokenSet) => Promise<Claims>;
}): RedirectProvider {
  const { label, client, problem, identity } = o;
  const refuseMisconfigured = () => {
    if (problem) throw new LoginError('failed', `${label}: this sign-in method is misconfigured`, { hint: `Ask the hub administrator to check the ${o.forge} URL.`, detail: problem });
  };
  return {
    type: 'redirect', kind: o.kind, name: o.name, label,
    async begin({ callbackUrl, state }) {
      refuseMisconfigured();
      return client.begin({ callbackUrl, state, scope: o.scope });
    },
    async complete(input) {
      refuseMisconfigured();
      const tokens = await client.complete(input);
      try {
        return await identity(tokens);
      } catch (err) {
        throw apiFailure(label, err, `reading the ${o.forge} user`);
      }
    },
    async refresh(authState) {
      if (problem) return undefined;
      return refreshIdentity({ client, label, now: o.deps.now, state: authState, identity });
    },
  };
}
