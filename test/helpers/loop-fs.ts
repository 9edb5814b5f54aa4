// A filesystem of a test's own: a sparse file formatted and loop-mounted (as root), so a test can run
// a private engine on a filesystem with the features it needs (btrfs quotas) whatever the machine's
// disks are. destroy() unmounts it and removes the file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';

const MKFS: Record<'btrfs' | 'ext4', { cmd: string; args: string[]; apt: string }> = {
  btrfs: { cmd: 'mkfs.btrfs', args: ['-q'], apt: 'btrfs-progs' },
  ext4: { cmd: 'mkfs.ext4', args: ['-q', '-F'], apt: 'e2fsprogs' },
};

export class LoopFs {
  readonly dir = mkdtempSync('/tmp/berthfs-');
  readonly mount = `${this.dir}/mnt`;
  private mounted = false;

  constructor(readonly type: 'btrfs' | 'ext4', readonly sizeMb: number) {}

  create(): void {
    if (process.getuid?.() !== 0) throw new Error('loop-mounting a test filesystem needs root (CI runs as root)');
    const image = `${this.dir}/fs.img`;
    execFileSync('truncate', ['-s', `${this.sizeMb}M`, image]);
    const mkfs = MKFS[this.type];
    try {
      execFileSync(mkfs.cmd, [...mkfs.args, image], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${mkfs.cmd} is missing: apt-get install ${mkfs.apt} (scripts/test-env.sh installs it)`);
      throw err;
    }
    mkdirSync(this.mount);
    execFileSync('mount', ['-o', 'loop', image, this.mount], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.mounted = true;
  }

  destroy(): void {
    try {
      if (this.mounted) execFileSync('umount', [this.mount], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.mounted = false;
    } finally {
      if (!this.mounted) rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
