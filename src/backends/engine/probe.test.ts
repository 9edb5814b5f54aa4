// The probe's script and what its output means, without an engine: the script runs here under /bin/sh
// with only one HTTP client on PATH at a time (python3, GNU or BusyBox wget, curl: whichever this
// machine has), against a loopback listener, then a closed port, then a page that is not the hub API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from '../fake/index.ts';
import { isStaleProbe, PROBE_MAX_AGE_MS, PROBE_SCRIPT, probeOutcome } from './probe.ts';

const IMAGE = 'img:1';
const FIX = 'set hub.hub_connect_url to an address containers can reach';

/** The real binary of a client on this machine (python3 through `sys.executable`: pyenv shims are scripts). */
function binaryOf(tool: string): string | undefined {
  try {
    if (tool === 'python3') return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim() || undefined;
    return execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs the probe script with PATH holding only `links` (name → binary); returns what a container's logs would hold. */
function runScript(links: Record<string, string>, url: string): Promise<{ exitCode: number; output: string }> {
  const bin = mkdtempSync(join(tmpdir(), 'berth-probe-'));
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(bin, name));
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', PROBE_SCRIPT, 'berth-probe', url], { env: { PATH: bin }, timeout: 15_000 }, (err, stdout, stderr) => {
      rmSync(bin, { recursive: true, force: true });
      resolve({ exitCode: typeof err?.code === 'number' ? err.code : err ? 1 : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Each client the script knows, as this machine has it (BusyBox's applets answer to the name they are called by). */
function clients(): [string, Record<string, string> | undefined][] {
  const bb = binaryOf('busybox');
  const one = (tool: string) => { const b = binaryOf(tool); return b ? { [tool]: b } : undefined; };
  return [
    ['python3', one('python3')],
    ['wget', one('wget')],
    ['busybox wget with timeout', bb ? { wget: bb, timeout: bb } : undefined],
    ['busybox wget alone', bb ? { wget: bb } : undefined],
    ['curl', one('curl')],
  ];
}

describe('the probe script, per client', () => {
  let hub: Server;
  let origin = '';
  before(async () => {
    hub = createServer((req, res) => {
      if (req.url === '/hub/api/') res.writeHead(200, { 'content-type': 'application/json' }).end('{"version": "5.3.0"}');
      else res.writeHead(404).end('not the hub');
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => hub.close(() => r())));

  for (const [client, links] of clients()) {
    test(`${client}: ok when the hub answers, the client's own words when nothing listens or the page is not the hub`, { skip: links ? false : 'not on this machine' }, async () => {
      const apiUrl = `${origin}/hub/api`;
      const ok = await runScript(links!, `${apiUrl}/`);
      assert.deepEqual(probeOutcome({ image: IMAGE, apiUrl, ...ok }), { ok: true, message: `a container reached the hub API at ${apiUrl}` });

      const closed = `http://127.0.0.1:${await closedPort()}/hub/api`;
      const refused = probeOutcome({ image: IMAGE, apiUrl: closed, ...(await runScript(links!, `${closed}/`)) });
      assert.equal(refused.ok, false);
      assert.match(refused.message, new RegExp(`^a container could not reach the hub API at ${closed.replace(/[.]/g, '\\.')}: .*(refused|connect).*; ${FIX}$`, 'i'));

      const notHub = probeOutcome({ image: IMAGE, apiUrl: `${origin}/nothub`, ...(await runScript(links!, `${origin}/nothub/`)) });
      assert.equal(notHub.ok, false);
      assert.match(notHub.message, /404|not the hub/i);
    });
  }

  test('no client at all: not checked, and says which clients were looked for', async () => {
    const none = await runScript({}, `${origin}/hub/api/`);
    assert.equal(none.exitCode, 3);
    assert.deepEqual(probeOutcome({ image: IMAGE, apiUrl: `${origin}/hub/api`, ...none }), { ok: null, message: `not checked: image ${IMAGE} has none of python3, wget, curl` });
  });
});

test('probeOutcome: a probe that did not finish is not checked; an answer without "version" is not the hub', () => {
  assert.deepEqual(probeOutcome({ image: IMAGE, apiUrl: 'http://h:8000/hub/api', exitCode: undefined, output: '' }), {
    ok: null, message: `not checked: the probe container (image ${IMAGE}) did not finish within 20 s`,
  });
  assert.deepEqual(probeOutcome({ image: IMAGE, apiUrl: 'http://h:8000/hub/api', exitCode: 0, output: 'berth-hub-ok' }), {
    ok: false, message: `a container could not reach the hub API at http://h:8000/hub/api: what answered is not the hub API (berth-hub-ok); ${FIX}`,
  });
  assert.deepEqual(probeOutcome({ image: IMAGE, apiUrl: 'http://h:8000/hub/api', exitCode: 7, output: '' }), {
    ok: false, message: `a container could not reach the hub API at http://h:8000/hub/api: the client exited with code 7 and printed nothing; ${FIX}`,
  });
});

describe('isStaleProbe: which probe containers a killed process left behind', () => {
  const now = 1_800_000_000_000;
  const gone = (c: string) => c === 'dead';
  const labels = (creator: string | undefined, at: number) => ({ 'berth.probe': '1', ...(creator ? { 'berth.creator': creator } : {}), 'berth.created': String(at) });
  test('a probe of a gone creator is stale at once, whatever its age', () => {
    assert.equal(isStaleProbe(labels('dead', now - 1), undefined, gone, now), true);
  });
  test('a live creator\'s probe is kept within its time bound, and stale past it', () => {
    assert.equal(isStaleProbe(labels('alive', now - PROBE_MAX_AGE_MS), undefined, gone, now), false);
    assert.equal(isStaleProbe(labels('alive', now - PROBE_MAX_AGE_MS - 1), undefined, gone, now), true);
  });
  test('a probe with no labels of its own (an earlier Berth) goes by the engine\'s creation time', () => {
    assert.equal(isStaleProbe({ 'berth.probe': '1' }, now - 1000, gone, now), false);
    assert.equal(isStaleProbe({ 'berth.probe': '1' }, now - PROBE_MAX_AGE_MS - 1000, gone, now), true);
    assert.equal(isStaleProbe({ 'berth.probe': '1' }, undefined, gone, now), false, 'no time at all: never judged by age');
  });
});
