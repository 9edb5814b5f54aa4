// The servers' network without an engine: which existing networks are refused (one line each, saying
// what to do), the labels of one Berth creates, and the config rule that internal needs a network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../config/schema.ts';
import { networkLabels, networkProblem } from './network.ts';
import type { NetworkInfo } from './port.ts';

const bridge = (more: Partial<NetworkInfo> = {}): NetworkInfo => ({ Name: 'berth-net', Id: 'a'.repeat(64), Driver: 'bridge', Internal: false, ...more });
const onHost = { internal: false, hostSide: true };
const internalOnHost = { internal: true, hostSide: true };

test('networkProblem: a bridge whose internal flag matches the setting is fine, either way, either side', () => {
  assert.equal(networkProblem(bridge(), onHost), undefined);
  assert.equal(networkProblem(bridge(), { internal: false, hostSide: false }), undefined);
  assert.equal(networkProblem(bridge({ Internal: true }), internalOnHost), undefined);
  assert.equal(networkProblem(bridge({ Internal: true }), { internal: true, hostSide: false }), undefined);
  // the engine may leave Internal out for a network that is not internal
  assert.equal(networkProblem({ Name: 'n', Id: 'x' }, onHost), undefined);
});

test('networkProblem: the internal flag differing from the setting is refused, with the way out', () => {
  assert.equal(networkProblem(bridge(), internalOnHost),
    'docker.network berth-net exists and is not internal (its containers have a route out), but docker.network_internal is true: remove it (docker network rm berth-net) so Berth creates it internal, or name a network that does not exist yet');
  assert.equal(networkProblem(bridge({ Internal: true }), onHost),
    'docker.network berth-net is internal (its containers reach nothing beyond it), but docker.network_internal is false: set docker.network_internal: true, or name a network that is not internal');
});

test('networkProblem: drivers that cannot carry servers are refused', () => {
  assert.match(networkProblem(bridge({ Name: 'host', Driver: 'host' }), onHost)!, /^docker\.network host uses the host driver, which gives servers no network of their own/);
  assert.match(networkProblem(bridge({ Name: 'none', Driver: 'null' }), onHost)!, /uses the null driver/);
  assert.equal(networkProblem(bridge({ Driver: 'overlay', Attachable: false }), onHost),
    'docker.network berth-net is an overlay network that is not attachable, so containers cannot join it: recreate it with docker network create --driver overlay --attachable berth-net, or name another network');
  assert.equal(networkProblem(bridge({ Driver: 'overlay', Attachable: true }), onHost), undefined);
  // internal with Berth on the host: only a bridge lets this machine reach the containers' addresses
  assert.match(networkProblem(bridge({ Driver: 'overlay', Attachable: true, Internal: true }), internalOnHost)!,
    /^docker\.network_internal with Berth on the host needs a bridge network .* but berth-net uses the overlay driver/);
  assert.equal(networkProblem(bridge({ Driver: 'overlay', Attachable: true, Internal: true }), { internal: true, hostSide: false }), undefined);
});

test('networkLabels: Berth\'s own labels win over extra_labels', () => {
  const config = configSchema.parse({ docker: { name_prefix: 'lab', extra_labels: { team: 'a', 'berth.managed-by': 'spoof' } } });
  assert.deepEqual(networkLabels(config), { team: 'a', 'berth.managed-by': 'berth', 'berth.instance': 'lab' });
});

test('config: network_internal needs a network of its own', () => {
  const problems = (docker: object) => {
    const r = configSchema.safeParse({ docker });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(problems({ network: 'berth-int', network_internal: true }), []);
  assert.deepEqual(problems({ network_internal: true }), ['docker.network_internal: needs docker.network set to a network of its own (Berth creates it internal when missing)']);
  assert.deepEqual(problems({ network: 'bridge', network_internal: true }), [
    "docker.network_internal: needs docker.network set to a network of its own (Berth creates it internal when missing): bridge is one of Docker's default networks, which cannot be internal",
  ]);
  assert.equal(configSchema.parse({}).docker.network_internal, false);
});
