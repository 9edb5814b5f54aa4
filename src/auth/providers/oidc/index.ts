// The generic OpenID Connect / OAuth2 provider (GenericOAuthenticator), on openid-client: endpoints
// from the issuer's discovery document (or explicit plain-OAuth2 URLs), the authorization-code flow
// with Berth's state, PKCE S256 and a nonce, the ID token checked by openid-client (JWKS signature,
// issuer, audience, expiry, nonce), identity from its claims or the userinfo answer, and a
// refresh-token grant for refresh().
import type { z } from 'zod';
import { openidClient, type OpenId } from '../openid-lib.ts';
import type { Config } from '../../../config/schema.ts';
import { LoginError, type Claims, type ProviderDeps, type RedirectProvider } from '../types.ts';
import type { oidcConfig } from './config.ts';
import { insecureUrlProblem } from '../common-config.ts';
import { mapClaims, needsUserinfo, type ClaimRules } from './claims.ts';
import { toLoginError } from './errors.ts';

type Entry = z.infer<typeof oidcConfig>;
type Bag = Record<string, unknown>;

/** Seconds openid-client waits for each request to the provider. */
const TIMEOUT_S = 15;

/** How the client authenticates at the token endpoint: basic_auth, else what the provider lists. */
function clientAuth(oidc: typeof OpenId, entry: Entry, as: OpenId.ServerMetadata, discovered: boolean): OpenId.ClientAuth {
  if (!entry.client_secret) return oidc.None(); // a public client: PKCE is its only proof
  const listed = as.token_endpoint_auth_methods_supported;
  const basic = entry.basic_auth ?? (discovered ? !listed?.length || listed.includes('client_secret_basic') || !listed.includes('client_secret_post') : false);
  return basic ? oidc.ClientSecretBasic(entry.client_secret) : oidc.ClientSecretPost(entry.client_secret);
}

/** The provider's endpoints Berth will call must each pass the https rule (insecureUrlProblem). */
function checkEndpoints(entry: Entry, as: OpenId.ServerMetadata, label: string) {
  for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri'] as const) {
    const url = as[key];
    const problem = url && insecureUrlProblem(url, entry.allow_insecure_http);
    if (problem) {
      throw new LoginError('failed', `${label}: the identity provider's address is plain http`, {
        hint: 'Ask the hub administrator: the provider must use https (or allow_insecure_http for a lab).',
        detail: `discovered ${key}: ${problem}`,
      });
    }
  }
}

export function oidcProvider(entry: Entry, _config: Config, deps: ProviderDeps): RedirectProvider {
  const name = entry.name ?? 'oidc';
  const label = entry.label ?? `Sign in with ${name}`;
  const plain = !entry.issuer;
  const rules: ClaimRules = { label, username_claim: entry.username_claim, groups_claim: entry.groups_claim, require_email_verified: entry.require_email_verified };
  const wantsIdToken = !plain && entry.scope.includes('openid');
  const customFetch: OpenId.CustomFetch = (url, options) => deps.fetch(url, options as RequestInit);

  function configure(oidc: typeof OpenId, as: OpenId.ServerMetadata): OpenId.Configuration {
    checkEndpoints(entry, as, label);
    const c = new oidc.Configuration(as, entry.client_id, entry.client_secret, clientAuth(oidc, entry, as, !plain));
    c[oidc.customFetch] = customFetch;
    c.timeout = TIMEOUT_S;
    // plain http is let through only where checkEndpoints (and the config check) allowed it
    const urls = [as.issuer, as.authorization_endpoint, as.token_endpoint, as.userinfo_endpoint, as.jwks_uri, entry.userdata_url];
    if (urls.some((u) => u?.startsWith('http:'))) oidc.allowInsecureRequests(c);
    // openid-client checks an ID token's claims itself; this adds its signature against the JWKS
    if (as.jwks_uri) oidc.enableNonRepudiationChecks(c);
    return c;
  }

  // One discovery per provider instance (a config reload builds a new one). A failed discovery is
  // not kept: the next login tries again.
  let configuration: Promise<OpenId.Configuration> | undefined;
  function client(): Promise<OpenId.Configuration> {
    configuration ??= (async () => {
      const oidc = await openidClient();
      if (plain) {
        // no issuer to check tokens against: plain OAuth2 has no ID token (identity is the userdata answer)
        return configure(oidc, { issuer: new URL(entry.authorize_url!).origin, authorization_endpoint: entry.authorize_url, token_endpoint: entry.token_url });
      }
      const issuer = new URL(entry.issuer!);
      const found = await oidc.discovery(issuer, entry.client_id, undefined, undefined, {
        [oidc.customFetch]: customFetch,
        execute: issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
        timeout: TIMEOUT_S,
      });
      return configure(oidc, found.serverMetadata());
    })().catch((err: unknown) => {
      configuration = undefined;
      throw toLoginError(err, label, 'discovery');
    });
    return configuration;
  }

  /** The userinfo (OIDC) or userdata (plain OAuth2) answer. */
  async function userinfo(c: OpenId.Configuration, accessToken: string, sub: string | undefined): Promise<Bag | undefined> {
    const oidc = await openidClient();
    if (plain) {
      const res = await oidc.fetchProtectedResource(c, accessToken, new URL(entry.userdata_url!), 'GET', undefined, new Headers({ accept: 'application/json' }));
      if (res.status !== 200) throw new Error(`userdata_url answered ${res.status}`);
      const body: unknown = await res.json();
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('userdata_url answered something other than a JSON object');
      return body as Bag;
    }
    if (!c.serverMetadata().userinfo_endpoint) return undefined;
    // the answer must be about the ID token's subject (skipped only without an ID token)
    return { ...(await oidc.fetchUserInfo(c, accessToken, sub ?? oidc.skipSubjectCheck)) };
  }

  /** Claims from a token response (a login or a refresh). */
  async function identity(c: OpenId.Configuration, tokens: OpenId.TokenEndpointResponse & OpenId.TokenEndpointResponseHelpers, previous?: Bag): Promise<Claims> {
    const fresh = tokens.claims() as Bag | undefined;
    const idClaims = fresh ?? (previous?.claims as Bag | undefined);
    if (previous && fresh && previous.claims && (previous.claims as Bag).sub !== fresh.sub) {
      throw new LoginError('refused', `${label}: the identity provider answered for someone else`, { detail: 'refreshed ID token has another sub' });
    }
    const sub = typeof idClaims?.sub === 'string' ? idClaims.sub : undefined;
    let info: Bag | undefined;
    try {
      info = await userinfo(c, tokens.access_token, sub);
    } catch (err) {
      if (plain || needsUserinfo(idClaims, rules)) throw toLoginError(err, label, 'userinfo');
      // everything needed is in the ID token: the login goes on without the userinfo copy
      deps.log.warn('oidc userinfo failed', { provider: name, error: String(err) });
    }
    const mapped = mapClaims(idClaims, info, rules);
    const refreshToken = tokens.refresh_token ?? (previous?.refresh_token as string | undefined);
    const authState: Bag = {
      access_token: tokens.access_token,
      refresh_token: refreshToken,
      id_token: tokens.id_token ?? previous?.id_token,
      /** Unix seconds, on Berth's clock. */
      expires_at: tokens.expires_in !== undefined ? Math.floor(deps.now() / 1000) + tokens.expires_in : undefined,
      scope: tokens.scope ?? previous?.scope ?? entry.scope.join(' '),
      token_type: tokens.token_type,
      claims: idClaims,
      userinfo: info,
    };
    return { ...mapped, authState };
  }

  return {
    type: 'redirect',
    kind: 'oidc',
    name,
    label,
    async begin({ callbackUrl, state }) {
      const c = await client();
      const oidc = await openidClient();
      const verifier = oidc.randomPKCECodeVerifier();
      const nonce = wantsIdToken ? oidc.randomNonce() : undefined;
      const params: Record<string, string> = {
        ...entry.extra_authorize_params,
        redirect_uri: callbackUrl,
        scope: entry.scope.join(' '),
        state,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...(nonce ? { nonce } : {}),
      };
      return { url: oidc.buildAuthorizationUrl(c, params).href, saved: { code_verifier: verifier, ...(nonce ? { nonce } : {}) } };
    },
    async complete({ callbackUrl, state, params, saved }) {
      const c = await client();
      const oidc = await openidClient();
      const verifier = typeof saved.code_verifier === 'string' ? saved.code_verifier : undefined;
      const nonce = typeof saved.nonce === 'string' ? saved.nonce : undefined;
      if (!verifier || (wantsIdToken && !nonce)) {
        throw new LoginError('invalid', `${label}: this sign-in was started before a change to the hub`, { hint: 'Start again from the sign-in page.', detail: 'saved login state lacks code_verifier or nonce' });
      }
      // the callback as the provider redirected to it: its query is the authorization response,
      // and without the query it is the redirect_uri the code was issued for
      const current = new URL(callbackUrl);
      current.search = '';
      for (const [k, v] of params) if (!(plain && k === 'iss')) current.searchParams.append(k, v); // plain OAuth2: no issuer to compare iss with
      let tokens;
      try {
        tokens = await oidc.authorizationCodeGrant(c, current, { pkceCodeVerifier: verifier, expectedState: state, ...(nonce ? { expectedNonce: nonce } : {}), idTokenExpected: wantsIdToken });
      } catch (err) {
        throw toLoginError(err, label, 'token exchange');
      }
      return identity(c, tokens);
    },
    async refresh(authState) {
      const refreshToken = authState.refresh_token;
      if (typeof refreshToken !== 'string' || !refreshToken) return undefined;
      const c = await client();
      const oidc = await openidClient();
      let tokens;
      try {
        tokens = await oidc.refreshTokenGrant(c, refreshToken);
      } catch (err) {
        throw toLoginError(err, label, 'refresh');
      }
      return identity(c, tokens, authState);
    },
  };
}
