import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PullProgress } from './pull-progress.ts';
import type { PullEvent } from '../docker/port.ts';

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

test('layers the host already has are left out: announced first, they do not make the bar read 100 % (engine 20.10, real order)', () => {
  // A pull of an image FROM a base the host has: the base's "Already exists" comes before the other
  // layers are announced. Counted as done, it read 100 % at once and the bar never moved again.
  const events: PullEvent[] = [
    { status: 'Pulling from berthimg/big', id: 'v1' },
    { status: 'Already exists', id: 'l0' },
    { status: 'Pulling fs layer', id: 'l1' },
    { status: 'Pulling fs layer', id: 'l2' },
    { status: 'Pulling fs layer', id: 'l3' },
    { status: 'Pulling fs layer', id: 'l4' },
    { status: 'Waiting', id: 'l4' },
    { status: 'Downloading', id: 'l3', progressDetail: { current: 36445, total: 2097941 } },
    { status: 'Downloading', id: 'l1', progressDetail: { current: 36445, total: 2097941 } },
    { status: 'Downloading', id: 'l2', progressDetail: { current: 36445, total: 2097941 } },
    { status: 'Verifying Checksum', id: 'l3' },
    { status: 'Download complete', id: 'l3' },
    { status: 'Verifying Checksum', id: 'l1' },
    { status: 'Download complete', id: 'l1' },
    { status: 'Extracting', id: 'l1', progressDetail: { current: 32768, total: 2097941 } },
    { status: 'Verifying Checksum', id: 'l2' },
    { status: 'Download complete', id: 'l2' },
    { status: 'Downloading', id: 'l4', progressDetail: { current: 36445, total: 2097939 } },
    { status: 'Verifying Checksum', id: 'l4' },
    { status: 'Download complete', id: 'l4' },
    { status: 'Extracting', id: 'l1', progressDetail: { current: 2097941, total: 2097941 } },
    { status: 'Pull complete', id: 'l1' },
    { status: 'Extracting', id: 'l2', progressDetail: { current: 32768, total: 2097941 } },
    { status: 'Extracting', id: 'l2', progressDetail: { current: 2097941, total: 2097941 } },
    { status: 'Pull complete', id: 'l2' },
    { status: 'Extracting', id: 'l3', progressDetail: { current: 32768, total: 2097941 } },
    { status: 'Extracting', id: 'l3', progressDetail: { current: 2097941, total: 2097941 } },
    { status: 'Pull complete', id: 'l3' },
    { status: 'Extracting', id: 'l4', progressDetail: { current: 32768, total: 2097939 } },
    { status: 'Extracting', id: 'l4', progressDetail: { current: 2097939, total: 2097939 } },
    { status: 'Pull complete', id: 'l4' },
    { status: 'Digest: sha256:d59022c01b4b5e1e7c8d801c098d5cde59560459b9d3016da6d1ca59589c9757' },
    { status: 'Status: Downloaded newer image for 127.0.0.1:42031/berthimg/big:v1' },
  ];
  const p = new PullProgress();
  const seen = events.map((ev) => p.update(ev));
  assert.equal(seen[1], 0, 'the existing base layer is no progress');
  assert.equal(seen[6], 0, 'nothing fetched yet');
  assert.equal(seen[11], 20, 'one of four equal layers downloaded: 0.8 / 4');
  assert.equal(seen[19], 80, 'all downloaded, none extracted');
  assert.equal(seen.at(-1), 100);
  const distinct = [...new Set(seen)];
  assert.deepEqual(distinct, [...distinct].sort((a, b) => a - b), seen.join(','));
  assert.ok(distinct.filter((v) => v > 0 && v < 100).length >= 5, seen.join(','));
});

test('an image the host has entirely (every layer already exists) reads 0 %, not a jump to 100 %', () => {
  const p = new PullProgress();
  p.update({ status: 'Pulling from x', id: 'latest' });
  assert.equal(p.update({ status: 'Already exists', id: 'a' }), 0);
  assert.equal(p.update({ status: 'Already exists', id: 'b' }), 0);
  assert.equal(p.update({ status: 'Status: Image is up to date for x:latest' }), 0);
});
