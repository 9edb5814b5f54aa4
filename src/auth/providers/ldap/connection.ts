// One LDAP connection per login attempt, with the TLS strategy applied before anything else is
// sent: LDAPS from the first byte, or StartTLS before any bind (and no bind if it fails), or plain.
// The connection is never silently re-opened: ldapts reconnects on its own when a socket drops
// (on a plain socket, so a StartTLS session's next bind would go in clear text) — here a dropped
// connection fails every later operation at once and a second socket is refused.
import { connect as netConnect, isIP, type Socket } from 'node:net';
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

/** The connection was lost; it is not re-opened (see the header). */
export class ConnectionLost extends Error {
  constructor() {
    super('the connection to the directory was lost (not re-opened)');
    this.name = 'ConnectionLost';
  }
}

/**
 * An ldapts client on exactly one socket. ldapts alone would re-open a dropped connection for the
 * next operation (in plain text, after StartTLS) or, after StartTLS, not notice the drop and wait
 * for the operation timeout; here every operation after a drop fails at once.
 */
export class LdapConnection extends Client {
  lost = false;
  /** Every socket opened for this connection (the TCP one, and the TLS one over it). */
  readonly sockets: Socket[] = [];
  track<S extends Socket>(socket: S): S {
    this.sockets.push(socket);
    socket.once('close', () => { this.lost = true; });
    return socket;
  }
  /** Unbind (unless the connection is already gone: ldapts would wait out the timeout), then close every socket. */
  async close(): Promise<void> {
    if (!this.lost) await this.unbind().catch(() => undefined);
    for (const s of this.sockets) s.destroy();
  }
  override bind(...args: Parameters<Client['bind']>) {
    return this.lost ? Promise.reject(new ConnectionLost()) : super.bind(...args);
  }
  override search(...args: Parameters<Client['search']>) {
    return this.lost ? Promise.reject(new ConnectionLost()) : super.search(...args);
  }
}

/** TLS options: the server's certificate must chain to `ca` and name `host`. Never unverified. */
function tlsOptions(t: Target): ConnectionOptions {
  return { ca: t.ca, host: t.host, servername: isIP(t.host) ? undefined : t.host, rejectUnauthorized: true };
}

/**
 * A connection to `t`, upgraded with StartTLS when asked (LDAPS and plain connect at the first
 * operation). The caller must `closeQuietly()` it, also on failure. Throws on connection,
 * handshake or StartTLS failure (already closed then).
 */
export async function openConnection(t: Target): Promise<LdapConnection> {
  let opened = false;
  const one = <S extends Socket>(open: () => S): S => {
    if (opened) throw new ConnectionLost();
    opened = true;
    return client.track(open());
  };
  const host = isIP(t.host) === 6 ? `[${t.host}]` : t.host;
  const client: LdapConnection = new LdapConnection({
    url: `${t.tls === 'ldaps' ? 'ldaps' : 'ldap'}://${host}:${t.port}`,
    connectTimeout: t.connectTimeoutMs,
    timeout: t.timeoutMs,
    // tlsOptions only for LDAPS: given on an ldap:// client they would make ldapts speak TLS at once
    ...(t.tls === 'ldaps' ? { tlsOptions: tlsOptions(t) } : {}),
    createConnection: ((port: number, h: string) => one(() => netConnect(port, h))) as typeof netConnect,
    createSecureConnection: ((...args: Parameters<typeof tlsConnect>) =>
      // StartTLS wraps the socket already opened; only LDAPS opens one here
      t.tls === 'ldaps' ? one(() => tlsConnect(...args)) : client.track(tlsConnect(...args))) as typeof tlsConnect,
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
export async function closeQuietly(client: LdapConnection): Promise<void> {
  await client.close().catch(() => undefined);
}

/** ldapts times LDAP operations but not the TLS handshake after a StartTLS answer. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
