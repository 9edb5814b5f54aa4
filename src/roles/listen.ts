// Listening with errors an admin can act on (port taken, address not on this machine).
import type { Server } from 'node:http';
import { ServiceError } from '../errors.ts';

export function listen(server: Server, host: string, port: number, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new ServiceError('Unavailable', `${host}:${port} is already in use: stop the other process or pick another port (${setting})`));
      else if (e.code === 'EADDRNOTAVAIL') reject(new ServiceError('Unavailable', `cannot listen on ${host}:${port}: no such address on this machine (check ${setting})`));
      else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
}

/**
 * Stops accepting and drops idle keep-alive connections; resolves once the rest have ended or after
 * `graceMs` (upgraded WebSockets never end by themselves; the process exit ends them).
 */
export function closeServer(server: Server, graceMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(resolve, graceMs);
    timer.unref();
    server.close(() => { clearTimeout(timer); resolve(); });
    server.closeIdleConnections();
  });
}
