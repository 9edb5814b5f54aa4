// docker.storage_size (`--storage-opt size`) is kept only by storage drivers with quotas: which ones,
// from what `docker info` says, so Berth refuses a limit the engine would not enforce at start-up,
// with one line, instead of failing every spawn later.
import type { DockerPort } from './port.ts';

export interface StorageDriver {
  driver: string;
  /** DriverStatus "Backing Filesystem" (extfs, xfs, btrfs…), when the driver reports one. */
  backingFs: string | undefined;
}

/** Drivers that keep a per-container size on any backing filesystem they run on. */
const QUOTA_DRIVERS = new Set(['btrfs', 'zfs', 'devicemapper', 'windowsfilter']);
/** Drivers that keep one on xfs mounted with pquota (which `docker info` does not show: the engine says at create). */
const XFS_QUOTA_DRIVERS = new Set(['overlay2', 'vfs']);

/** Why this engine cannot keep docker.storage_size; undefined when it can (or may: overlay2 on xfs). */
export function storageSizeProblem(s: StorageDriver, address: string): string | undefined {
  if (QUOTA_DRIVERS.has(s.driver)) return undefined;
  if (XFS_QUOTA_DRIVERS.has(s.driver) && s.backingFs === 'xfs') return undefined;
  const on = s.backingFs ? `${s.driver} on ${s.backingFs}` : s.driver;
  return `docker.storage_size needs a storage driver with per-container quotas (btrfs, zfs, or overlay2 on xfs mounted with pquota), and the engine at ${address} uses ${on}: remove docker.storage_size, or move the engine's data-root to such a filesystem`;
}

export async function storageDriver(port: DockerPort): Promise<StorageDriver> {
  const info = await port.info();
  const backing = info.DriverStatus?.find(([k]) => k === 'Backing Filesystem')?.[1];
  return { driver: info.Driver ?? '', backingFs: backing || undefined };
}
