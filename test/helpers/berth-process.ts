// Starts `berth serve` as a real child process (the README's command path) for end-to-end tests,
// and kills it (gracefully or with SIGKILL) by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/berth.mjs', import.meta.url));

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface BerthProcess {
  child: ChildProcess;
  origin: string;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startBerth(opts: { configFile: string; port: number; env?: Record<string, string>; logFile?: string; timeoutMs?: number }): Promise<BerthProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', opts.configFile], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const onData = (d: Buffer) => { out += d.toString(); log?.write(d); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const origin = `http://127.0.0.1:${opts.port}`;
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`berth did not start within ${opts.timeoutMs ?? 30000} ms:\n${out}`)), opts.timeoutMs ?? 30000);
    const check = () => {
      if (out.includes('berth: listening on')) { clearTimeout(deadline); child.stdout!.off('data', check); resolve(); }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(deadline); reject(new Error(`berth exited with ${code}:\n${out}`)); });
  });
  child.removeAllListeners('exit');
  return {
    child,
    origin,
    output: () => out,
    kill: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => { log?.end(); resolve(); });
        child.kill(signal);
      }),
  };
}
