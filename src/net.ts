// Addresses as Berth listens on and dials them: one notion of "every interface", and URLs with IPv6
// hosts in brackets.

/** A listen address meaning every interface. */
export const isWildcard = (ip: string) => ip === '0.0.0.0' || ip === '::' || ip === '';

/** Where to dial a process listening on `ip`: a wildcard is reached on loopback. */
export const dialable = (ip: string) => (isWildcard(ip) ? '127.0.0.1' : ip);

export const httpUrl = (host: string, port: number, path = '/') => `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
