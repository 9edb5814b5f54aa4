import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homeOwner } from './home-owner.ts';

test('the new home goes to who the server runs as: runAs, else the image USER; never chowned for root', () => {
  assert.equal(homeOwner({}, 'jovyan'), 'jovyan');
  assert.equal(homeOwner({}, '4321:4321'), '4321:4321');
  assert.equal(homeOwner({ runAs: '1001:100' }, 'jovyan'), '1001:100');
  for (const [runAs, image] of [[undefined, undefined], [undefined, 'root'], [undefined, '0:0'], ['0', 'jovyan']] as const) {
    assert.equal(homeOwner({ runAs }, image), undefined, `${runAs} ${image}`);
  }
});
