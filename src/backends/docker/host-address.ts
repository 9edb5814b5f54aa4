// Which address of this machine the containers on a Docker network reach: the IPv4 the host really
// has on the network's bridge interface, not the engine's optional IPAM Gateway field (Debian's
// engine leaves it out for the default bridge). Pure functions, except localInterfaces().
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { endianness, networkInterfaces } from 'node:os';
import type { NetworkInfo } from './port.ts';

/** IPv4 addresses of this machine, per interface name. */
export type Interfaces = Record<string, string[]>;

/**
 * - interface: the address the host has on the network's bridge interface;
 * - gateway: the interface is not visible here (e.g. a remote engine), so the engine's IPAM Gateway;
 *   `local` says whether that address is on this machine at all (only then can Berth listen on it);
 * - none: neither exists.
 */
export type BridgeAddress =
  | { source: 'interface'; ip: string; iface: string }
  | { source: 'gateway'; ip: string; iface: string | undefined; local: boolean }
  | { source: 'none'; ip?: undefined; iface: string | undefined };

/** The bridge interface of a network: its bridge.name option, else docker0 or br-<first 12 of the id>. */
export function bridgeInterface(net: Pick<NetworkInfo, 'Name' | 'Id' | 'Driver' | 'Options'>): string | undefined {
  const named = net.Options?.['com.docker.network.bridge.name'];
  if (named) return named;
  if ((net.Driver ?? 'bridge') !== 'bridge') return undefined;
  return net.Name === 'bridge' ? 'docker0' : `br-${net.Id.slice(0, 12)}`;
}

export function bridgeAddress(net: NetworkInfo, interfaces: Interfaces): BridgeAddress {
  const iface = bridgeInterface(net);
  const configs = net.IPAM?.Config ?? [];
  const own = (iface && interfaces[iface]) || [];
  // A bridge may carry more than one address: prefer the one in the network's own subnet.
  const ip = own.find((a) => configs.some((c) => c.Subnet && inCidr(a, c.Subnet))) ?? own[0];
  if (ip && iface) return { source: 'interface', ip, iface };
  const gateway = configs.map((c) => c.Gateway).find((g): g is string => !!g && isIPv4(g));
  if (gateway) return { source: 'gateway', ip: gateway, iface, local: Object.values(interfaces).some((l) => l.includes(gateway)) };
  return { source: 'none', iface };
}

/**
 * IPv4 addresses per interface from the kernel's tables: each on-link route of /proc/net/route names
 * an interface and a subnet, and /proc/net/fib_trie lists this host's own (LOCAL) addresses. Unlike
 * os.networkInterfaces() (libuv skips interfaces without carrier), this sees a bridge no container is
 * attached to yet — docker0 on a freshly started engine, a newly created user network.
 */
export function kernelInterfaces(route: string, fibTrie: string, order: 'LE' | 'BE' = 'LE'): Interfaces {
  const local = new Set<string>();
  let leaf = '';
  for (const line of fibTrie.split('\n')) {
    const m = /^\s*\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (m) leaf = m[1]!;
    else if (leaf && /^\s*\/32 host LOCAL\b/.test(line)) local.add(leaf);
  }
  const out: Interfaces = {};
  for (const row of route.split('\n').slice(1)) {
    const [iface, dest, gateway, , , , , mask] = row.trim().split(/\s+/);
    // On-link routes only (no gateway): those are the interface's own subnets. The default route has mask 0.
    if (!iface || !dest || !mask || gateway !== '00000000' || Number.parseInt(mask, 16) === 0) continue;
    const net = hexToU32(dest, order);
    const bits = hexToU32(mask, order);
    for (const a of local) {
      if (((ipToU32(a) & bits) >>> 0) !== net) continue;
      const list = (out[iface] ??= []);
      if (!list.includes(a)) list.push(a);
    }
  }
  return out;
}

/** This machine's IPv4 addresses per interface: os.networkInterfaces() plus what the kernel's tables add (Linux). */
export function localInterfaces(): Interfaces {
  const out: Interfaces = {};
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const v4 = (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address);
    if (v4.length) out[name] = v4;
  }
  let kernel: Interfaces = {};
  try {
    kernel = kernelInterfaces(readFileSync('/proc/net/route', 'utf8'), readFileSync('/proc/net/fib_trie', 'utf8'), endianness());
  } catch {
    // not Linux (or no /proc): os.networkInterfaces() is all there is
  }
  for (const [name, addrs] of Object.entries(kernel)) out[name] = [...new Set([...(out[name] ?? []), ...addrs])];
  return out;
}

function ipToU32(ip: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** /proc/net/route prints addresses as the host's in-memory word: little-endian hosts reverse the octets. */
function hexToU32(hex: string, order: 'LE' | 'BE'): number {
  const n = Number.parseInt(hex, 16) >>> 0;
  if (order === 'BE') return n;
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | (n >>> 24)) >>> 0;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, len] = cidr.split('/');
  if (!base || !isIPv4(base) || !isIPv4(ip)) return false;
  const bits = Number(len ?? 32);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipToU32(ip) & mask) >>> 0) === ((ipToU32(base) & mask) >>> 0);
}
