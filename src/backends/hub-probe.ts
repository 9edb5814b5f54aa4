// What every backend's hub-reach check shares: the URL a server fetches, the answer that counts, the
// one-line messages, and the hint for a spawn whose server could not reach the hub (pure functions).

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

/**
 * jupyterhub-singleuser's "Failed to connect to my Hub at <url> (attempt n/5). Is it running?" in a
 * server's log tail means the spawn failed because the server could not reach the hub: returns one
 * sentence saying so, with the error it got and the fix; undefined for any other log. The URL is the
 * one in the log (what the server really used), else `hubUrl`.
 */
export function hubUnreachableHint(logTail: string, hubUrl: string): string | undefined {
  const failures = [...logTail.matchAll(/Failed to connect to my Hub(?: at (\S+))?/g)];
  const last = failures.at(-1);
  if (!last) return undefined;
  const url = last[1] ?? hubApiUrl(hubUrl);
  // The traceback that follows ends with the exception, e.g. "ConnectionRefusedError: [Errno 111] Connection refused".
  const rest = logTail.slice(last.index! + last[0].length).split('\n').slice(1);
  const end = rest.findIndex((l) => !/^\s/.test(l));
  const traceback = end < 0 ? rest : rest.slice(0, end);
  const exception = traceback.map((l) => /^\s*[A-Za-z_][\w.]*: (.+)$/.exec(l)?.[1]).filter(Boolean).at(-1);
  const cause = exception ? ` (${exception.replace(/^\[Errno -?\d+\]\s*/, '').trim()})` : '';
  return `The server could not reach the hub at ${url}${cause}: ${HUB_REACH_FIX}, and check that Berth listens there`;
}
