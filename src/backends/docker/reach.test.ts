// How containers reach the hub, without an engine: the kernel's tables parsed from a real capture
// (this machine's Debian docker.io engine: docker0 and a fresh user network, both without carrier, so
// absent from os.networkInterfaces()), the pick between interface and IPAM gateway, and hostReach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bridgeAddress, bridgeInterface, kernelInterfaces, type Interfaces } from './host-address.ts';
import { hostReach, internalNetworking } from './reach.ts';
import type { NetworkInfo } from './port.ts';

const USER_NET_ID = 'cfae0d2a58c6cff69342f59ebb435034be775b74271a7bb41bb2bba4f141be95';
/** /proc/net/route with a fresh user network (trailing blanks trimmed). */
const PROC_ROUTE = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
docker0	000011AC	00000000	0001	0	0	0	0000FFFF	0	0	0
br-cfae0d2a58c6	000015AC	00000000	0001	0	0	0	0000FFFF	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0`;
/** /proc/net/fib_trie, its Main table, at the same moment. */
const PROC_FIB_TRIE = `Main:
  +-- 0.0.0.0/0 3 0 4
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 172.16.0.0/13 2 1 2
        +-- 172.16.0.0/15 2 0 2
           +-- 172.17.0.0/31 1 0 0
              |-- 172.17.0.0
                 /16 link UNICAST
              |-- 172.17.0.1
                 /32 host LOCAL
           |-- 172.17.255.255
              /32 link BROADCAST
        +-- 172.21.0.0/16 2 0 2
           +-- 172.21.0.0/31 1 0 0
              |-- 172.21.0.0
                 /16 link UNICAST
              |-- 172.21.0.1
                 /32 host LOCAL
           |-- 172.21.255.255
              /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST`;

/** `docker network inspect bridge` on this engine: a Subnet and no Gateway. */
const DEFAULT_BRIDGE: NetworkInfo = {
  Name: 'bridge', Id: '3821892241f217baf693310ab742324bd535982945d5fe699c7c32bd4d99e047', Driver: 'bridge',
  IPAM: { Config: [{ Subnet: '172.17.0.0/16' }] },
  Options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'docker0' },
};
const USER_NET: NetworkInfo = {
  Name: 'berthtest-ifcheck3', Id: USER_NET_ID, Driver: 'bridge', IPAM: { Config: [{ Subnet: '172.21.0.0/16', Gateway: '172.21.0.1' }] }, Options: {},
};

test('kernelInterfaces: each bridge gets the LOCAL address inside its on-link subnet, carrier or not', () => {
  assert.deepEqual(kernelInterfaces(PROC_ROUTE, PROC_FIB_TRIE), {
    docker0: ['172.17.0.1'], 'br-cfae0d2a58c6': ['172.21.0.1'], eth0: ['192.0.2.2'],
  });
  assert.deepEqual(kernelInterfaces('', ''), {});
});

test('kernelInterfaces: a big-endian host prints /proc/net/route in network order', () => {
  const be = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\nbr0\tAC110000\t00000000\t0001\t0\t0\t0\tFFFF0000';
  assert.deepEqual(kernelInterfaces(be, PROC_FIB_TRIE, 'BE'), { br0: ['172.17.0.1'] });
});

test('bridgeInterface: the bridge.name option, else docker0 or br-<first 12 of the id>; none for other drivers', () => {
  assert.equal(bridgeInterface(DEFAULT_BRIDGE), 'docker0');
  assert.equal(bridgeInterface(USER_NET), 'br-cfae0d2a58c6');
  assert.equal(bridgeInterface({ ...USER_NET, Options: { 'com.docker.network.bridge.name': 'berth0' } }), 'berth0');
  assert.equal(bridgeInterface({ Name: 'bridge', Id: 'x' }), 'docker0');
  assert.equal(bridgeInterface({ ...USER_NET, Driver: 'overlay' }), undefined);
});

test('bridgeAddress: prefers the address inside the network\'s subnet when a bridge has several', () => {
  assert.deepEqual(bridgeAddress(DEFAULT_BRIDGE, { docker0: ['10.9.9.9', '172.17.0.1'] }), { source: 'interface', ip: '172.17.0.1', iface: 'docker0' });
  assert.deepEqual(bridgeAddress(DEFAULT_BRIDGE, { docker0: ['10.9.9.9'] }), { source: 'interface', ip: '10.9.9.9', iface: 'docker0' });
});

const machine: Interfaces = { lo: ['127.0.0.1'], ...kernelInterfaces(PROC_ROUTE, PROC_FIB_TRIE) };
const reach = (network: NetworkInfo | null, interfaces = machine, more: { hubIp?: string; connectUrl?: string } = {}) =>
  hostReach({ network, networkName: network?.Name ?? 'bridge', interfaces, hubIp: more.hubIp ?? '127.0.0.1', port: 8000, connectUrl: more.connectUrl });
const FIX = 'set hub.hub_connect_url to an address containers can reach';

test('hostReach: no Gateway field but docker0 present (fresh Debian engine) → its address, listened on and given as host.docker.internal', () => {
  assert.deepEqual(reach(DEFAULT_BRIDGE), {
    hubUrl: 'http://host.docker.internal:8000', extraListen: [{ host: '172.17.0.1', port: 8000 }], hubAddress: '172.17.0.1',
    description: 'containers reach the hub at http://host.docker.internal:8000 (172.17.0.1 on docker0)',
  });
});

test('hostReach: a user network → that network\'s own bridge address, not docker0\'s', () => {
  const r = reach(USER_NET);
  assert.deepEqual(r.extraListen, [{ host: '172.21.0.1', port: 8000 }]);
  assert.equal(r.hubAddress, '172.21.0.1');
  assert.equal(r.description, 'containers reach the hub at http://host.docker.internal:8000 (172.21.0.1 on br-cfae0d2a58c6)');
  assert.equal(r.warning, undefined);
});

test('hostReach: interface not visible but a Gateway → the gateway, listened on only when it is an address of this machine', () => {
  const withGateway = { ...DEFAULT_BRIDGE, IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } };
  const local = reach(withGateway, { lo: ['127.0.0.1'], dockerbr: ['172.17.0.1'] });
  assert.deepEqual(local.extraListen, [{ host: '172.17.0.1', port: 8000 }]);
  assert.equal(local.description, 'containers reach the hub at http://host.docker.internal:8000 (172.17.0.1, the gateway of network bridge)');
  assert.equal(local.warning, undefined);
  // A remote engine: its gateway is on another machine, Berth cannot listen there; host-gateway stays.
  const remote = reach(withGateway, { lo: ['127.0.0.1'], eth0: ['192.0.2.2'] });
  assert.deepEqual([remote.extraListen, remote.hubAddress], [[], undefined]);
  assert.equal(remote.warning, `docker: containers will likely not reach the hub at http://host.docker.internal:8000: 172.17.0.1, the gateway of network bridge, is not an address of this machine (no interface docker0 on this machine; is the engine remote?); ${FIX}`);
  assert.match(remote.description, /^containers are told the hub is at http:\/\/host\.docker\.internal:8000 \(host-gateway\), but 172\.17\.0\.1/);
});

test('hostReach: neither interface nor Gateway → no listener, host-gateway, and a warning that says so', () => {
  const r = reach(DEFAULT_BRIDGE, { lo: ['127.0.0.1'], eth0: ['192.0.2.2'] });
  assert.deepEqual([r.extraListen, r.hubAddress], [[], undefined]);
  assert.equal(r.warning, `docker: containers will likely not reach the hub at http://host.docker.internal:8000: Berth found no address of this machine on network bridge (no interface docker0 on this machine, and no Gateway in its IPAM config); ${FIX}`);
  assert.equal(reach(null).warning, `docker: containers will likely not reach the hub at http://host.docker.internal:8000: network bridge does not exist; ${FIX}`);
});

test('hostReach: a hub on all interfaces or on that very address needs no extra listener; hub_connect_url is used as given', () => {
  for (const hubIp of ['0.0.0.0', '::', '172.17.0.1']) {
    const r = reach(DEFAULT_BRIDGE, machine, { hubIp });
    assert.deepEqual([r.extraListen, r.hubAddress], [[], '172.17.0.1'], hubIp);
  }
  const connect = reach(DEFAULT_BRIDGE, { lo: ['127.0.0.1'] }, { connectUrl: 'http://hub.example:8081' });
  assert.deepEqual(connect, {
    hubUrl: 'http://hub.example:8081', extraListen: [], hubAddress: undefined, description: 'containers reach the hub at http://hub.example:8081 (hub.hub_connect_url)',
  });
});

test('internalNetworking: servers on an internal network go through this machine\'s address on its bridge; none is refused', () => {
  const internalNet = { ...USER_NET, Internal: true };
  assert.deepEqual(internalNetworking('berth-int', reach(internalNet)), { mode: 'internal', network: 'berth-int', hubAddress: '172.21.0.1' });
  // a remote engine: its bridge is not on this machine, so neither the proxy nor the hub address would work
  assert.throws(() => internalNetworking('berth-int', reach(internalNet, { lo: ['127.0.0.1'], eth0: ['192.0.2.2'] })), {
    name: 'ServiceError',
    message: "docker.network_internal: this machine has no address on network berth-int (is the engine on another machine?), and servers on an internal network are reached only there: run Berth on the engine's machine, or in a container on berth-int",
  });
});
