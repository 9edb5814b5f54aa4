// Processes of the bench: a child started until it says it is up, stopped by its PID, and its
// memory and CPU time read from /proc. Every section starts and measures its peers with these.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Starts a child and resolves once `ready(output so far)` holds; its output is kept (last 8 KB) for errors. */
export function startChild(cmd: string, args: string[], ready: (out: string) => boolean, opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (d: Buffer) => { out = (out + d).slice(-8192); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`bench: ${cmd} did not start:\n${out}`)); }, opts.timeoutMs ?? 30_000);
    const check = () => {
      if (!ready(out)) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
      child.off('exit', onExit);
      resolve({ child, output: () => out });
    };
    const onExit = (code: number | null) => { clearTimeout(timer); reject(new Error(`bench: ${cmd} exited ${code}:\n${out}`)); };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.kill('SIGTERM');
  });
}

/** CPU time used so far (ms, user + system), summed over `pids`, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10;
}

/** Resident memory now and its peak so far (MB), summed over `pids`, from /proc/<pid>/status. */
export function memory(pids: number[]): { rssMb: number; peakMb: number } {
  let rss = 0, hwm = 0;
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return { rssMb: rss / 1024, peakMb: hwm / 1024 };
}
