// What end-to-end tests do with a real jupyterhub-singleuser through Berth, as a browser would:
// start a server and follow its progress stream, open it (OAuth through the hub), and run code in
// a kernel over the proxied WebSocket — in one call, or on a session kept open across restarts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Browser } from './browser.ts';

/**
 * GET /hub/spawn/<user> as the browser, then read the progress stream until ready (or throw on
 * failed). Here and below `user` may be "<user>/<server>" for a named server, as in its URLs.
 */
export async function startAndWait(b: Browser, user: string): Promise<string[]> {
  const { res } = await b.go(`/hub/spawn/${user}`);
  await res.arrayBuffer();
  const [name, server] = user.split('/');
  const progress = server ? `/hub/api/users/${name}/servers/${server}/progress` : `/hub/api/users/${name}/server/progress`;
  const stream = await b.raw(progress, { headers: { accept: 'text/event-stream' } });
  assert.equal(stream.status, 200, `progress stream: ${stream.status}`);
  const messages: string[] = [];
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let idx;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const chunk = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      if (!chunk.startsWith('data: ')) continue;
      const ev = JSON.parse(chunk.slice(6)) as { message: string; ready?: boolean; failed?: boolean };
      messages.push(ev.message);
      if (ev.failed) throw new Error(`spawn failed: ${messages.join(' | ')}`);
      if (ev.ready) { await reader.cancel(); return messages; }
    }
  }
  throw new Error(`progress stream ended without a final event: ${messages.join(' | ')}`);
}

/** Browser visit to the server: goes through the single-user server's OAuth dance via the hub. */
export const openServer = (b: Browser, user: string) => b.go(`/user/${user}/tree`);

export interface KernelSession {
  /** Runs `code` and resolves with its text/plain result. */
  execute(code: string): Promise<string>;
  /** Sends `code` and resolves once the kernel reports itself busy with it (not when it is done). */
  begin(code: string): Promise<void>;
  /** Closes the WebSocket only: the kernel keeps running whatever it was running. */
  detach(): Promise<void>;
  close(): Promise<void>;
}

/** Creates a kernel and opens its channels WebSocket through Berth's proxy. */
export async function openKernel(b: Browser, user: string): Promise<KernelSession> {
  const origin = b.origin;
  const xsrf = b.jar.get('_xsrf') ?? '';
  const created = await b.raw(`/user/${user}/api/kernels`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-xsrftoken': xsrf } });
  assert.equal(created.status, 201, `kernel create: ${created.status} ${await created.clone().text()}`);
  const { id } = (await created.json()) as { id: string };
  const session = randomUUID();
  const ws = new WebSocket(`${origin.replace('http', 'ws')}/user/${user}/api/kernels/${id}/channels?session_id=${session}`, {
    headers: { cookie: b.jar.header(`/user/${user}/api/kernels`), origin },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
  });
  const waiting = new Map<string, (text: string) => void>();
  const busy = new Map<string, () => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { msg_type: string; parent_header: { msg_id?: string }; content: { data?: Record<string, string>; execution_state?: string } };
    if (msg.msg_type === 'execute_result') waiting.get(msg.parent_header.msg_id ?? '')?.(msg.content.data!['text/plain']!);
    if (msg.msg_type === 'status' && msg.content.execution_state === 'busy') busy.get(msg.parent_header.msg_id ?? '')?.();
  });
  const send = (msgId: string, code: string) => ws.send(JSON.stringify({
    header: { msg_id: msgId, username: user, session, msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
    parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
    content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
  }));
  return {
    begin(code) {
      const msgId = randomUUID();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the kernel did not start ${code} within 60 s`)), 60_000);
        busy.set(msgId, () => { clearTimeout(timer); busy.delete(msgId); resolve(); });
        send(msgId, code);
      });
    },
    async detach() {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((r) => ws.once('close', r));
      ws.close();
      await closed;
    },
    execute(code) {
      const msgId = randomUUID();
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no execute_result for ${code} within 60 s`)), 60_000);
        const closed = () => { clearTimeout(timer); reject(new Error(`websocket closed before ${code} ran`)); };
        ws.once('close', closed);
        waiting.set(msgId, (text) => { clearTimeout(timer); ws.off('close', closed); waiting.delete(msgId); resolve(text); });
        send(msgId, code);
      });
    },
    async close() {
      ws.close();
      await b.raw(`/user/${user}/api/kernels/${id}`, { method: 'DELETE', headers: { 'x-xsrftoken': xsrf } });
    },
  };
}

/** One kernel, one piece of code, closed again. */
export async function runKernel(b: Browser, user: string, code: string): Promise<string> {
  const k = await openKernel(b, user);
  try { return await k.execute(code); } finally { await k.close(); }
}

/** The hub's XSRF token for cookie-authenticated API writes, read from the home page. */
export async function xsrfOf(b: Browser): Promise<string> {
  const html = await (await b.raw('/hub/home')).text();
  const xsrf = /data-xsrf="([^"]+)"/.exec(html)?.[1] ?? /name="_xsrf"\s+value="([^"]+)"/.exec(html)?.[1];
  assert.ok(xsrf, 'the home page carries the XSRF token'); // else a denial below would prove nothing
  return xsrf;
}
