// The shared hub-reach helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hubApiUrl, isHubApiAnswer } from './hub-probe.ts';

test('hubApiUrl and isHubApiAnswer', () => {
  assert.equal(hubApiUrl('http://h:8000'), 'http://h:8000/hub/api');
  assert.equal(hubApiUrl('http://h:8000/jhub/'), 'http://h:8000/jhub/hub/api');
  assert.equal(isHubApiAnswer('{"version": "5.3.0"}'), true);
  assert.equal(isHubApiAnswer('<html>nginx</html>'), false);
});
