// One LDAP connection per login attempt, with the TLS strategy applied before anything else is
// sent: LDAPS from the first byte, or StartTLS before any bind (and no bind if it fails), or plain.
// The connection is never silently re-opened: ldapts reconnects on its own when a socket drops,
// which after StartTLS would send the next bind in clear text — here a second socket is refused.
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';

export type TlsStrategy = 'ldaps' | 'starttls' | 'none';

export interface Target {
  host: string;
  port: number;
  tls: TlsStrategy;
  /** PEM of the CA to verify the server against; undefined: Node's CAs. */
  ca: Buffer | undefined;
  connectTimeoutMs: number;
  timeoutMs: number;
}

/** The connection dropped and would have been re-opened (refused, see the header). */
export class ReconnectRefused extends Error {}

/** TLS options: the server's certificate must chain to `ca` and name `host`. Never unverified. */
function tlsOptions(t: Target): ConnectionOptions {
  return { ca: t.ca, host: t.host, servername: isIP(t.host) ? undefined : t.host, rejectUnauthorized: true };
}

/**
 * An ldapts client for `t`, connected (and upgraded with StartTLS when asked). The caller must
 * `unbind()` it, also on failure. Throws on connection, handshake or StartTLS failure (already
 * closed then).
 */
export async function openConnection(t: Target): Promise<Client> {
  let sockets = 0;
  const once = () => {
    if (sockets++ > 0) throw new ReconnectRefused('the directory connection dropped; not reconnecting');
  };
  const host = isIP(t.host) === 6 ? `[${t.host}]` : t.host;
  const client = new Client({
    url: `${t.tls === 'ldaps' ? 'ldaps' : 'ldap'}://${host}:${t.port}`,
    connectTimeout: t.connectTimeoutMs,
    timeout: t.timeoutMs,
    // tlsOptions only for LDAPS: given on an ldap:// client they would make ldapts speak TLS at once
    ...(t.tls === 'ldaps' ? { tlsOptions: tlsOptions(t) } : {}),
    createConnection: ((port: number, h: string) => { once(); return netConnect(port, h); }) as typeof netConnect,
    createSecureConnection: ((...args: Parameters<typeof tlsConnect>) => {
      // the StartTLS upgrade wraps the socket already counted; only a fresh LDAPS socket counts
      if (t.tls === 'ldaps') once();
      return tlsConnect(...args);
    }) as typeof tlsConnect,
  });
  try {
    if (t.tls === 'starttls') await withDeadline(client.startTLS(tlsOptions(t)), t.timeoutMs, 'StartTLS');
  } catch (err) {
    await closeQuietly(client);
    throw err;
  }
  return client;
}

/** Unbind and close; a connection that already failed is just closed. Never throws. */
export async function closeQuietly(client: Client): Promise<void> {
  await client.unbind().catch(() => undefined);
}

/** ldapts times LDAP operations but not the TLS handshake after a StartTLS answer. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
