// The worker's cron jobs as the API reports them (GET /hub/api/worker): one row per job, written by
// whichever process held the lease when the job ran, so an api process on another machine reads it.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

export const workerJobs = sqliteTable('worker_jobs', {
  name: text('name').primaryKey(),
  /** The instance id of the process that ran it last. */
  ranBy: text('ran_by'),
  lastStartedAt: integer('last_started_at'),
  lastFinishedAt: integer('last_finished_at'),
  /** 'ok' or 'error'; null while it never finished. */
  lastOutcome: text('last_outcome'),
  /** What the run did (counts, names) or, on error, { error }. */
  lastResult: text('last_result', { mode: 'json' }).$type<Record<string, unknown>>(),
  runs: integer('runs').notNull().default(0),
  failures: integer('failures').notNull().default(0),
});

export type WorkerJobRow = typeof workerJobs.$inferSelect;

/**
 * Things a job saw once and acts on only after a grace period (a home volume of a deleted user, first
 * reported, removed later): when it was first seen, so the wait survives restarts and lease changes.
 */
export const workerMarks = sqliteTable('worker_marks', {
  /** e.g. "volume:jupyter-alice". */
  key: text('key').primaryKey(),
  firstSeenAt: integer('first_seen_at').notNull(),
  detail: text('detail', { mode: 'json' }).$type<Record<string, unknown>>(),
});

/** Signatures of webhook calls already accepted, kept for the timestamp tolerance, so a replay is refused. */
export const webhookDeliveries = sqliteTable('webhook_deliveries', {
  /** sha256 of the signature header. */
  signature: text('signature').primaryKey(),
  receivedAt: integer('received_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});
