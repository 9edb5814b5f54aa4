import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storageSizeProblem } from './storage.ts';

test('storage_size: drivers with quotas pass, overlay2 only on xfs, the rest are refused naming driver and filesystem', () => {
  for (const driver of ['btrfs', 'zfs', 'devicemapper', 'windowsfilter']) assert.equal(storageSizeProblem({ driver, backingFs: 'extfs' }, 'unix:///x'), undefined, driver);
  assert.equal(storageSizeProblem({ driver: 'overlay2', backingFs: 'xfs' }, 'unix:///x'), undefined);
  const why = storageSizeProblem({ driver: 'overlay2', backingFs: 'extfs' }, 'unix:///var/run/docker.sock');
  assert.match(why ?? '', /^docker\.storage_size needs a storage driver with per-container quotas .* the engine at unix:\/\/\/var\/run\/docker\.sock uses overlay2 on extfs: remove docker\.storage_size/);
  assert.match(storageSizeProblem({ driver: 'fuse-overlayfs', backingFs: undefined }, 'a') ?? '', /uses fuse-overlayfs:/);
});
