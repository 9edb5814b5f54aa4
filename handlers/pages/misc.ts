// Small hub URLs (spec B.6): health probe, logo, CSP reports; and the catch-all that sends
// anything outside the hub prefix into it (spec B.7: /user/alice/tree → /hub/user/alice/tree).
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { hub } from './session.ts';
import { readiness } from '../../src/services/health/readiness.ts';

export const miscPages = new Hono<AppEnv>();

miscPages.get('/hub/health', (c) => c.text('ok'));

// Readiness: 503 with the failed proofs in JupyterHub's {"status", "message"} (e.g. containers
// cannot reach the hub), 200 with what was checked otherwise. No login needed, as /hub/health.
miscPages.get('/hub/health/ready', async (c) => {
  let r;
  try {
    r = await readiness(c.get('ctx'));
  } catch (err) {
    return c.json({ status: 503, message: `the database does not answer: ${err instanceof Error ? err.message : String(err)}` }, 503);
  }
  if (!r.ready) return c.json({ status: 503, message: r.problems.join('; '), checks: r.checks, worker: r.worker }, 503);
  return c.json({ status: 200, message: 'ready', checks: r.checks, worker: r.worker });
});

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32" viewBox="0 0 120 32"><rect width="32" height="32" rx="6" fill="#1f883d"/><path d="M7 21h18l-3 5H10z M15 7v12 M15 8l7 9h-7" stroke="#fff" stroke-width="2" fill="none"/><text x="40" y="22" font-family="system-ui,sans-serif" font-size="17" font-weight="600" fill="#24292f">Berth</text></svg>`;
miscPages.get('/hub/logo', (c) => c.body(LOGO, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }));

// 3.x single-user servers point their CSP report-uri here; reports are only worth a log line.
miscPages.post('/hub/security/csp-report', async (c) => {
  const text = (await c.req.text()).slice(0, 2000);
  c.get('ctx').log.warn('content security violation', { report: text });
  return c.body(null, 204);
});

miscPages.all('*', async (c, next) => {
  const h = hub(c);
  const url = new URL(c.req.url);
  const base = c.get('ctx').config.hub.base_url;
  // inside the hub prefix (or outside the base URL): a genuine 404, answered by the app
  if (url.pathname.startsWith(h) || `${url.pathname}/` === h || !`${url.pathname}/`.startsWith(base)) return next();
  const target = `${h}${(url.pathname + url.search).slice(base.length)}`;
  // GET keeps JupyterHub's 302; other methods keep method and body (307) and end at the JSON 424
  return c.redirect(target, c.req.method === 'GET' || c.req.method === 'HEAD' ? 302 : 307);
});
