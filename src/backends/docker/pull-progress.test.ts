import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PullProgress } from './pull-progress.ts';

test('pull progress weighs layers by size, counts extraction, and never goes back', () => {
  const p = new PullProgress();
  const seen: number[] = [];
  const feed = (ev: Parameters<PullProgress['update']>[0]) => seen.push(p.update(ev));
  feed({ status: 'Pulling from library/x', id: 'latest' });
  feed({ status: 'Pulling fs layer', id: 'a' });
  feed({ status: 'Pulling fs layer', id: 'b' });
  feed({ status: 'Downloading', id: 'a', progressDetail: { current: 50, total: 100 } });
  assert.equal(seen.at(-1), 20); // a: 0.8*0.5 weighs 100, b unknown weighs the average (100): 40/200
  feed({ status: 'Downloading', id: 'b', progressDetail: { current: 0, total: 900 } }); // b turns out big
  assert.equal(seen.at(-1), 20, 'a bigger layer showing up does not move the bar back');
  feed({ status: 'Downloading', id: 'b', progressDetail: { current: 900, total: 900 } });
  feed({ status: 'Download complete', id: 'a' });
  assert.equal(seen.at(-1), 80);
  feed({ status: 'Extracting', id: 'a', progressDetail: { current: 100, total: 100 } });
  feed({ status: 'Pull complete', id: 'a' });
  feed({ status: 'Pull complete', id: 'b' });
  feed({ status: 'Digest: sha256:abc' });
  feed({ status: 'Status: Downloaded newer image for x:latest' });
  assert.equal(seen.at(-1), 100);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, seen.join(','));
});

test('layers that already exist count as done', () => {
  const p = new PullProgress();
  p.update({ status: 'Pulling fs layer', id: 'b' });
  assert.equal(p.update({ status: 'Already exists', id: 'a' }), 50);
});
