// Asks a running server's own Jupyter REST API whether any kernel is executing (GET .../api/kernels),
// so the idle culler can spare a server doing long work that makes no traffic. Berth mints itself a
// short-lived API token for the server's owner, limited to access:servers on that one server: that
// is what jupyterhub-singleuser checks through GET /hub/api/user before it answers. The token is
// deleted when the answer is in, and expires on its own a minute later if that delete never runs.
import { eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow, UserRow } from '../../../db/schema/index.ts';
import { hashToken, newToken, tokenPrefix } from '../../auth/tokens.ts';
import { serverPrefix } from '../../names.ts';

const TOKEN_LIFETIME_MS = 60_000;
export const KERNEL_CHECK_TIMEOUT_MS = 10_000;

export type KernelCheck =
  | { ok: true; busy: boolean; kernels: number }
  | { ok: false; error: string };

interface KernelModel { id?: unknown; execution_state?: unknown }

export async function kernelsBusy(ctx: AppContext, user: UserRow, row: ServerRow, timeoutMs = KERNEL_CHECK_TIMEOUT_MS): Promise<KernelCheck> {
  if (!row.url) return { ok: false, error: 'the server has no address' };
  const token = newToken();
  const now = ctx.clock.now();
  const [minted] = await ctx.db.insert(schema.tokens).values({
    kind: 'api', prefix: tokenPrefix(token), hashed: hashToken(token), userId: user.id,
    scopes: [`access:servers!server=${user.name}/${row.name}`], note: 'Berth idle culler: kernel check',
    createdAt: now, expiresAt: now + TOKEN_LIFETIME_MS,
  }).returning({ id: schema.tokens.id });
  // no_track_activity: jupyter-server does not count this request as the user's activity (else
  // every check would be reported back to the hub as activity and the server would never be idle).
  const url = `${row.url}${serverPrefix(ctx.config.hub.base_url, user.name, row.name)}api/kernels?no_track_activity=1`;
  try {
    const res = await fetch(url, { headers: { authorization: `token ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (res.status !== 200) return { ok: false, error: `GET /api/kernels answered ${res.status}` };
    let kernels: unknown;
    try { kernels = JSON.parse(text); } catch { return { ok: false, error: 'GET /api/kernels answered something other than JSON' }; }
    if (!Array.isArray(kernels)) return { ok: false, error: 'GET /api/kernels answered something other than a kernel list' };
    // Only execution counts: a connected but idle kernel (an open browser tab) is not work.
    const busy = (kernels as KernelModel[]).some((k) => k?.execution_state === 'busy');
    return { ok: true, busy, kernels: kernels.length };
  } catch (err) {
    return { ok: false, error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String((err as Error).cause ?? err) };
  } finally {
    await ctx.db.delete(schema.tokens).where(eq(schema.tokens.id, minted!.id)).catch(() => {});
  }
}
