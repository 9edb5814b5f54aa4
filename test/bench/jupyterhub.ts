// The anchor of the token-check figure: the real JupyterHub 3.0 from Debian's `jupyterhub` package
// (scripts/test-env.sh installs it) with configurable-http-proxy 5.3 from npm (Debian's 4.5 does not
// run on this Node), on loopback, with a user and a token of the same scopes as Berth's bench token.
// Its token check needs no spawner. Everything lives in a temporary directory; stop() ends the hub and
// its proxy (their own process group) and removes it.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../helpers/berth-process.ts';

const JUPYTERHUB = '/usr/bin/jupyterhub';
const CHP_VERSION = '5.3.0';
const TOOLS = new URL('./.tools/', import.meta.url).pathname;

/** configurable-http-proxy from npm, installed once under test/bench/.tools (git-ignored). */
export function chp(): string {
  const bin = join(TOOLS, 'node_modules/.bin/configurable-http-proxy');
  if (!existsSync(bin)) {
    mkdirSync(TOOLS, { recursive: true });
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', TOOLS, `configurable-http-proxy@${CHP_VERSION}`], { stdio: 'inherit', timeout: 300_000 });
  }
  return bin;
}

export interface Anchor { url: string; headers: Record<string, string>; stop(): Promise<void> }

export async function startJupyterHub(scopes: string[]): Promise<Anchor> {
  if (!existsSync(JUPYTERHUB)) throw new Error(`bench: ${JUPYTERHUB} is missing: run sudo bash scripts/test-env.sh (installs Debian's jupyterhub)`);
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-jh-'));
  const [port, hubPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const admin = randomBytes(16).toString('hex');
  writeFileSync(join(dir, 'jupyterhub_config.py'), [
    `c.JupyterHub.ip = '127.0.0.1'`, `c.JupyterHub.port = ${port}`,
    `c.JupyterHub.hub_ip = '127.0.0.1'`, `c.JupyterHub.hub_port = ${hubPort}`,
    `c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:${apiPort}'`,
    `c.ConfigurableHTTPProxy.command = ['${chp()}']`,
    `c.ConfigurableHTTPProxy.pid_file = '${dir}/proxy.pid'`,
    `c.JupyterHub.authenticator_class = 'dummy'`,
    `c.JupyterHub.db_url = 'sqlite:///${dir}/jupyterhub.sqlite'`,
    `c.JupyterHub.cookie_secret_file = '${dir}/cookie_secret'`,
    `c.JupyterHub.services = [{'name': 'bench', 'api_token': '${admin}'}]`,
    `c.JupyterHub.load_roles = [{'name': 'bench-admin', 'scopes': ['admin:users', 'tokens'], 'services': ['bench']}]`,
    `c.JupyterHub.log_level = 'WARN'`, '',
  ].join('\n'));
  // its own process group: the hub starts the proxy as its child, and both go at stop()
  const child: ChildProcess = spawn(JUPYTERHUB, ['-f', join(dir, 'jupyterhub_config.py')], { cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d).slice(-4000); });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
      await new Promise((r) => { child.once('exit', r); setTimeout(r, 10_000); });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const api = `http://127.0.0.1:${hubPort}/hub/api`;
  const call = (path: string, body?: unknown) => fetch(`${api}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `token ${admin}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  try {
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`${api}/`).then((r) => r.ok, () => false))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`bench: JupyterHub did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!(await call('/users/alice', {})).ok) throw new Error('bench: JupyterHub refused to create the user');
    const made = await call('/users/alice/tokens', { scopes, note: 'berth bench' });
    if (!made.ok) throw new Error(`bench: JupyterHub refused the token: ${made.status} ${await made.text()}`);
    const { token } = (await made.json()) as { token: string };
    return { url: `${api}/user`, headers: { authorization: `token ${token}` }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
