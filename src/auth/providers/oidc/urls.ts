// Which identity-provider URLs Berth talks to in the clear: https always; http only to this machine
// (loopback: 127.0.0.0/8, localhost, ::1 — a provider beside Berth, as in the tests) unless the
// entry says allow_insecure_http (a lab). Tokens and client secrets cross these connections.

/** Is this URL's host this machine? */
export function isLoopback(url: URL): boolean {
  const h = url.hostname.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Why `url` may not be used, or undefined when it may. */
export function insecureUrlProblem(url: string, allowInsecureHttp: boolean): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `not a URL: ${url}`;
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol !== 'http:') return `only https:// (or http:// on loopback) URLs are supported, not ${u.protocol}`;
  if (allowInsecureHttp || isLoopback(u)) return undefined;
  return `${url} is plain http to another machine: use https, or set allow_insecure_http: true (tests and labs only)`;
}
