// Typed errors, classified by category (never by message) and mapped onto the wire in one place
// (handlers/app.ts). `message` is what the client sees; `logMessage` what the log gets.
export type ErrorCode = 'Invalid' | 'Unauthenticated' | 'Forbidden' | 'NotFound' | 'Conflict' | 'TooMany' | 'Unavailable';

const STATUS: Record<ErrorCode, number> = {
  Invalid: 400,
  Unauthenticated: 403, // JupyterHub answers missing/bad credentials with 403, never 401 (spec B.2)
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  TooMany: 429,
  Unavailable: 503,
};

export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, message: string, opts: { status?: number; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.status = opts.status ?? STATUS[code];
    this.headers = opts.headers ?? {};
  }
}

export const invalid = (message: string) => new ServiceError('Invalid', message);
export const notFound = (message: string) => new ServiceError('NotFound', message);
export const forbidden = (message: string) => new ServiceError('Forbidden', message);
export const conflict = (message: string) => new ServiceError('Conflict', message);
export const unavailable = (message: string, cause?: unknown) => new ServiceError('Unavailable', message, { cause });

/**
 * A spawn that did not come up. `message` is shown to the user (spawn page, progress stream);
 * `logMessage` (with the container's last log lines) goes to the log and the server row.
 */
export class SpawnError extends Error {
  readonly reason: 'image' | 'create' | 'start' | 'exited' | 'timeout' | 'cancelled' | 'backend';
  readonly logTail: string | undefined;
  constructor(reason: SpawnError['reason'], message: string, opts: { logTail?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'SpawnError';
    this.reason = reason;
    this.logTail = opts.logTail;
  }
}

/** Backends call this between steps of start(): an aborted spawn stops where it is. */
export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new SpawnError('cancelled', 'Spawn cancelled');
}
