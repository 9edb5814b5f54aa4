// JupyterHub's list pagination (spec D.1): offset/limit parsing, and the paginated envelope whose
// `next.url` is absolute, built from the caller's own origin and query (the culler follows it verbatim).
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { invalid } from '../../src/errors.ts';
import { requestOrigin } from '../lib.ts';

export const PAGINATION_MEDIA_TYPE = 'application/jupyterhub-pagination+json';
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

export interface Page {
  offset: number;
  limit: number;
  /** The caller sent the pagination media type in Accept. */
  paginated: boolean;
}

function intParam(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Python's int(): optional sign and surrounding blanks, digits only (no "1.5", no "").
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw invalid('Invalid argument type, offset and limit must be integers');
  return Math.abs(Number.parseInt(value, 10));
}

export function pageOf(c: Context<AppEnv>): Page {
  const accept = c.req.header('accept') ?? '';
  const paginated = accept.split(',').some((s) => s.trim().toLowerCase() === PAGINATION_MEDIA_TYPE);
  const offset = intParam(c.req.query('offset')) ?? 0;
  // Without the media type the default is the max, so old clients miss as few users as possible.
  const limit = intParam(c.req.query('limit')) ?? (paginated ? DEFAULT_LIMIT : MAX_LIMIT);
  return { offset, limit: Math.min(Math.max(limit, 1), MAX_LIMIT), paginated };
}

/** `items` as the caller asked for them: the envelope with the media type, else the plain list. */
export function pageBody<T>(c: Context<AppEnv>, page: Page, items: T[], total: number) {
  if (!page.paginated) return items;
  const nextOffset = page.offset + page.limit;
  let next: { offset: number; limit: number; url: string } | null = null;
  if (nextOffset < total) {
    const url = new URL(c.req.url);
    url.searchParams.set('offset', String(nextOffset));
    url.searchParams.set('limit', String(page.limit));
    next = { offset: nextOffset, limit: page.limit, url: `${requestOrigin(c)}${url.pathname}${url.search}` };
  }
  return { items, _pagination: { offset: page.offset, limit: page.limit, total, next } };
}
