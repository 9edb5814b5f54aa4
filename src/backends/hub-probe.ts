// What every backend's hub-reach check shares: the URL a server fetches, the answer that counts and
// the one-line messages (pure functions).

/** The advice every "containers cannot reach the hub" message ends with. */
export const HUB_REACH_FIX = 'set hub.hub_connect_url to an address containers can reach';

/** The hub API as a server addresses it: `<hubUrl>/hub/api` (hubUrl with base_url when it is not "/"). */
export function hubApiUrl(hubUrl: string): string {
  return `${hubUrl.replace(/\/+$/, '')}/hub/api`;
}

/** The hub API root answers {"version": "…"}; a page from anything else is not the hub. */
export function isHubApiAnswer(body: string): boolean {
  return body.includes('"version"');
}

/** `who` names the client that tried: "a container", "this process". */
export const probeMessage = {
  reached: (who: string, apiUrl: string) => `${who} reached the hub API at ${apiUrl}`,
  failed: (who: string, apiUrl: string, said: string) => `${who} could not reach the hub API at ${apiUrl}: ${said}; ${HUB_REACH_FIX}`,
};

