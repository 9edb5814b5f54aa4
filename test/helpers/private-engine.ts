// A Docker engine of the test's own (a second dockerd, as root), so a test can stop and start "the
// engine" without touching the machine's engine, which other suites and processes use: its own data
// and exec roots, pidfile and socket under a temporary directory, its own bridge interface, and no
// iptables rules (published ports on 127.0.0.1 go through docker-proxy, which needs none), so the
// machine's engine's chains are never touched. Launched like scripts/test-env.sh launches the main
// one (dockerd in its own session, log appended to a file), and restarted the same way: the PID from
// its pidfile, SIGTERM, wait for it to exit, relaunch with the same command line, wait for ping.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import Docker from 'dockerode';

const BRIDGE = 'berthrs0';
/** A private range for the bridge, away from Docker's defaults (172.17+/16, 192.168/20 pools). */
const BRIDGE_CIDR = '10.251.0.1/24';
const START_TIMEOUT_MS = 60_000;

export class PrivateEngine {
  readonly dir: string;
  readonly socket: string;
  readonly docker: Docker;
  private readonly args: string[];
  private readonly logFile: string;

  /**
   * `dataRoot` puts the engine's images and containers elsewhere (a test's own filesystem, see
   * loop-fs.ts: its owner removes it after destroy()); `storageDriver` is dockerd's --storage-driver.
   */
  constructor(opts: { dataRoot?: string; storageDriver?: string } = {}) {
    this.dir = mkdtempSync('/tmp/berthrestart-');
    this.socket = `${this.dir}/docker.sock`;
    this.logFile = `${this.dir}/dockerd.log`;
    this.docker = new Docker({ socketPath: this.socket });
    this.args = [
      '--data-root', opts.dataRoot ?? `${this.dir}/data`, '--exec-root', `${this.dir}/exec`, '--pidfile', this.pidFile,
      '-H', `unix://${this.socket}`, '--bridge', BRIDGE, '--iptables=false', '--ip-masq=false', '--ip-forward=false',
      ...(opts.storageDriver ? ['--storage-driver', opts.storageDriver] : []),
    ];
  }

  get pidFile(): string {
    return `${this.dir}/docker.pid`;
  }

  /** The bridge (made afresh: one left by a killed earlier run is replaced), then the daemon. */
  async start(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('the engine-restart test starts its own dockerd: run it as root (CI does)');
    ip(['link', 'del', BRIDGE], true);
    ip(['link', 'add', BRIDGE, 'type', 'bridge']);
    ip(['addr', 'add', BRIDGE_CIDR, 'dev', BRIDGE]);
    ip(['link', 'set', BRIDGE, 'up']);
    await this.launch();
  }

  /** What `dockerd` printed, for a failure message. */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
  }

  /** SIGTERM to the PID in its pidfile, and wait until that process is gone (it stops its containers first). */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (alive(pid)) {
      if (Date.now() > deadline) throw new Error(`dockerd ${pid} did not exit within ${START_TIMEOUT_MS} ms:\n${this.log()}`);
      await sleep(100);
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops the daemon (if it runs) and removes its directory and bridge: nothing of it is left. */
  async destroy(): Promise<void> {
    try {
      await this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      ip(['link', 'del', BRIDGE], true);
    }
  }

  /** Copies an image from the machine's engine (there is no registry to pull from). */
  async loadImage(image: string): Promise<void> {
    const stream = await new Docker().getImage(image).get();
    const loading = await this.docker.loadImage(stream);
    await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(loading, (err: Error | null) => (err ? reject(err) : resolve())));
  }

  private pid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  }

  private async launch(): Promise<void> {
    const out = openSync(this.logFile, 'a');
    // detached: its own session (setsid), so it is not in the test runner's process group.
    const child = spawn('dockerd', this.args, { detached: true, stdio: ['ignore', out, out] });
    closeSync(out);
    child.unref();
    let exited: number | null | undefined;
    child.once('exit', (code) => { exited = code; });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited !== undefined) throw new Error(`dockerd exited with ${exited} while starting:\n${this.log()}`);
      if (await this.docker.ping().then(() => true, () => false)) return;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within ${START_TIMEOUT_MS} ms:\n${this.log()}`);
      await sleep(200);
    }
  }
}

/** iproute2's `ip` (in Debian's base system) makes the engine's bridge. */
function ip(args: string[], mayFail = false): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the engine-restart test needs `ip` (apt-get install iproute2) to make its engine\'s bridge');
    if (!mayFail) throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
