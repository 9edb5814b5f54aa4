// The latest result of each start-up proof (e.g. "a container reached the hub API"), written by the
// process that checked and read by /hub/health/ready in whichever process answers it.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

export const healthChecks = sqliteTable('health_checks', {
  name: text('name').primaryKey(),
  /** true: proven; false: proven broken; null: could not be checked (message says why). */
  ok: integer('ok', { mode: 'boolean' }),
  message: text('message').notNull(),
  checkedAt: integer('checked_at').notNull(),
  /** Instance id of the process that checked. */
  checkedBy: text('checked_by').notNull(),
});

export type HealthCheckRow = typeof healthChecks.$inferSelect;
