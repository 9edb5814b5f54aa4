// The shared hub-reach helpers: the hint recognises jupyterhub-singleuser's real failure (the last 8
// lines of berth-test/singleuser:3.0.0, Debian's jupyterhub 3.0.0, run with JUPYTERHUB_API_URL on a closed port).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hubApiUrl, hubUnreachableHint, isHubApiAnswer } from './hub-probe.ts';

const REAL_LOG_TAIL = String.raw`[E 2026-12-01 21:40:11.890 SingleUserNotebookApp mixins:485] Failed to connect to my Hub at http://127.0.0.1:9/hub/api (attempt 5/5). Is it running?
    Traceback (most recent call last):
      File "/usr/lib/python3/dist-packages/jupyterhub/singleuser/mixins.py", line 483, in check_hub_version
        resp = await client.fetch(self.hub_api_url)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      File "/usr/lib/python3.11/asyncio/tasks.py", line 339, in __wakeup
        future.result()
    ConnectionRefusedError: [Errno 111] Connection refused`;

test('hubUnreachableHint: the real singleuser log → one sentence with the URL it used, the error and the fix', () => {
  assert.equal(
    hubUnreachableHint(REAL_LOG_TAIL, 'http://host.docker.internal:8000'),
    'The server could not reach the hub at http://127.0.0.1:9/hub/api (Connection refused): set hub.hub_connect_url to an address containers can reach, and check that Berth listens there',
  );
});

test('hubUnreachableHint: other failures get no hint; a line without a URL falls back to the hub URL given', () => {
  assert.equal(hubUnreachableHint('[E 12:00:00.000 SingleUserNotebookApp] Bad config\nKeyError: x', 'http://h:8000'), undefined);
  assert.equal(hubUnreachableHint('', 'http://h:8000'), undefined);
  assert.equal(
    hubUnreachableHint('Failed to connect to my Hub\nnext line', 'http://h:8000/'),
    'The server could not reach the hub at http://h:8000/hub/api: set hub.hub_connect_url to an address containers can reach, and check that Berth listens there',
  );
});

test('hubApiUrl and isHubApiAnswer', () => {
  assert.equal(hubApiUrl('http://h:8000'), 'http://h:8000/hub/api');
  assert.equal(hubApiUrl('http://h:8000/jhub/'), 'http://h:8000/jhub/hub/api');
  assert.equal(isHubApiAnswer('{"version": "5.3.0"}'), true);
  assert.equal(isHubApiAnswer('<html>nginx</html>'), false);
});
