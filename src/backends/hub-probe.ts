// What every backend's hub-reach check shares: the URL a server fetches, the answer that counts, the
// one-line messages, the fetch from this process, and the hint for a spawn whose server could not
// reach the hub.

import type { HubProbeResult } from './types.ts';

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

/** The hub as the servers' environment names it: the reach's hub URL plus base_url (no trailing slash). */
export function hubUrlForServers(hubUrl: string, baseUrl: string): string {
  return `${hubUrl.replace(/\/+$/, '')}${baseUrl.replace(/\/$/, '')}`;
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

/** GETs `<apiUrl>/` from this process (the fake's servers, the proxy's own listener check). */
export async function probeFromHere(apiUrl: string, timeoutMs: number, signal?: AbortSignal): Promise<HubProbeResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(`${apiUrl}/`, { redirect: 'manual', signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const body = await res.text();
    if (isHubApiAnswer(body)) return { ok: true, message: probeMessage.reached('this process', apiUrl) };
    return { ok: false, message: probeMessage.failed('this process', apiUrl, `what answered (HTTP ${res.status}) is not the hub API`) };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? String(err);
    return { ok: false, message: probeMessage.failed('this process', apiUrl, cause) };
  }
}
