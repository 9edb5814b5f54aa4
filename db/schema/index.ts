// The whole schema, one file per table.
export * from './users.ts';
export * from './servers.ts';
export * from './server_events.ts';
export * from './tokens.ts';
export * from './oauth_clients.ts';
export * from './oauth_codes.ts';
export * from './sessions.ts';
export * from './services.ts';
export * from './leases.ts';
export * from './audit.ts';
export * from './health_checks.ts';
export * from './worker_jobs.ts';
export * from './groups.ts';
export * from './login_states.ts';
