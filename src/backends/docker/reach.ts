// How containers and the hub reach each other, worked out at start-up with no admin setting (design §6):
// on a user network Berth itself is attached to, by container name; otherwise through ports published
// on 127.0.0.1 and host.docker.internal set to the address this machine has on the servers' network,
// where Berth also listens for the hub API. On an internal network (docker.network_internal) with
// Berth on the host, nothing can be published: the proxy goes to each container's address instead.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import { HUB_REACH_FIX } from '../hub-probe.ts';
import type { HubReach } from '../types.ts';
import { bridgeAddress, localInterfaces, type BridgeAddress, type Interfaces } from './host-address.ts';
import type { DockerPort, NetworkInfo } from './port.ts';
import { isWildcard } from '../../net.ts';
import { ServiceError } from '../../errors.ts';
import { checkNetwork, ensureNetwork } from './network.ts';

/**
 * - network: Berth runs in a container on `network`; servers join it and are reached by name.
 * - host: Berth runs on the host; servers publish their port on 127.0.0.1 (random host port) and
 *   join `network` when one is configured. `hubAddress` is what host.docker.internal resolves to in
 *   them (the engine's host-gateway when unset).
 * - internal: Berth runs on the host, servers are on the internal `network`, where the engine
 *   publishes no ports: the proxy reaches each at its address on the network's bridge (this machine
 *   is on it), and they reach the hub at `hubAddress`, this machine's address there.
 */
export type Networking =
  | { mode: 'network'; network: string }
  | { mode: 'host'; network?: string | undefined; hubAddress?: string | undefined }
  | { mode: 'internal'; network: string; hubAddress: string };

export interface Reach extends HubReach {
  networking: Networking;
}

const DEFAULT_NETWORKS = new Set(['bridge', 'host', 'none']);

export async function workOutReach(
  port: DockerPort,
  config: Config,
  hub: { port: number; connectUrl?: string | undefined },
  log: Logger,
): Promise<Reach> {
  const self = await findOwnContainer(port);
  const configured = config.docker.network;
  if (self) {
    const attached = Object.keys(self.NetworkSettings?.Networks ?? {});
    // With no setting, a compose project's single user network (`<project>_default`) is the obvious one.
    const userNets = attached.filter((n) => !DEFAULT_NETWORKS.has(n));
    const network = configured ?? (userNets.length === 1 ? userNets[0] : undefined);
    if (network && attached.includes(network)) {
      const info = await port.inspectNetwork(network);
      if (info) checkNetwork(info, config, false);
      const name = self.Name.replace(/^\//, '');
      const ip = self.NetworkSettings?.Networks?.[network]?.IPAddress;
      // Berth may listen on 127.0.0.1 inside its container: also listen on its address on the network.
      const extraListen = !hub.connectUrl && ip && !isWildcard(config.hub.ip) ? [{ host: ip, port: hub.port }] : [];
      const hubUrl = hub.connectUrl ?? `http://${name}:${hub.port}`;
      const how = hub.connectUrl ? '(hub.hub_connect_url)' : `by container name ${name}`;
      return { hubUrl, extraListen, description: `containers reach the hub at ${hubUrl} ${how} on network ${network}`, networking: { mode: 'network', network } };
    }
    log.warn('docker: Berth runs in a container that is not on the servers\' network; set docker.network to a network Berth is attached to', {
      container: self.Name, attached, configured,
    });
  }
  const networkName = configured ?? 'bridge';
  const network = configured ? await ensureNetwork(port, config, configured, log) : await port.inspectNetwork(networkName);
  const host = hostReach({
    network, networkName, interfaces: localInterfaces(),
    hubIp: config.hub.ip, port: hub.port, connectUrl: hub.connectUrl,
  });
  const reach = { hubUrl: host.hubUrl, extraListen: host.extraListen, description: host.description };
  if (configured && config.docker.network_internal) {
    return { ...reach, networking: internalNetworking(configured, host) };
  }
  if (host.warning) log.warn(host.warning, { network: networkName });
  return { ...reach, networking: { mode: 'host', network: configured, hubAddress: host.hubAddress } };
}

/**
 * Berth on the host, servers on an internal network: both ways go through this machine's address on
 * the network's bridge (the proxy to the containers' addresses on it, they to the hub there), so
 * without one the servers could never be reached: refused, not warned about.
 */
export function internalNetworking(network: string, host: HostReach): Networking {
  if (!host.hubAddress) {
    throw new ServiceError('Invalid', `docker.network_internal: this machine has no address on network ${network} (is the engine on another machine?), and servers on an internal network are reached only there: run Berth on the engine's machine, or in a container on ${network}`);
  }
  return { mode: 'internal', network, hubAddress: host.hubAddress };
}

export interface HostReach extends HubReach {
  /** The explicit address for host.docker.internal, when Berth can listen on it. */
  hubAddress: string | undefined;
  /** Why containers will likely not reach the hub, when that is so. */
  warning?: string | undefined;
}

/**
 * Berth on the host: the hub's address for containers on `network` is this machine's address on
 * that network's bridge (see bridgeAddress). Berth listens there for the hub API (unless it already
 * listens on all interfaces), and the containers get that same address as host.docker.internal.
 */
export function hostReach(args: {
  network: NetworkInfo | null;
  networkName: string;
  interfaces: Interfaces;
  hubIp: string;
  port: number;
  connectUrl?: string | undefined;
}): HostReach {
  const { networkName, connectUrl, port } = args;
  const address: BridgeAddress = args.network ? bridgeAddress(args.network, args.interfaces) : { source: 'none', iface: undefined };
  // A gateway that is not on this machine (a remote engine, a VM) is left to the engine's host-gateway.
  const usable = address.source === 'interface' || (address.source === 'gateway' && address.local) ? address.ip : undefined;
  const hubUrl = connectUrl ?? `http://host.docker.internal:${port}`;
  const extraListen = usable && !connectUrl && !isWildcard(args.hubIp) && args.hubIp !== usable ? [{ host: usable, port }] : [];
  const reach = { hubUrl, extraListen, hubAddress: usable };
  if (connectUrl) return { ...reach, description: `containers reach the hub at ${connectUrl} (hub.hub_connect_url)` };
  if (address.source === 'interface') return { ...reach, description: `containers reach the hub at ${hubUrl} (${address.ip} on ${address.iface})` };
  const gatewayOf = `the gateway of network ${networkName}`;
  if (usable) return { ...reach, description: `containers reach the hub at ${hubUrl} (${usable}, ${gatewayOf})` };
  const looked = address.iface ? `no interface ${address.iface} on this machine` : 'it has no bridge interface';
  const why = address.source === 'gateway'
    ? `${address.ip}, ${gatewayOf}, is not an address of this machine (${looked}; is the engine remote?)`
    : args.network ? `Berth found no address of this machine on network ${networkName} (${looked}, and no Gateway in its IPAM config)` : `network ${networkName} does not exist`;
  return {
    ...reach,
    description: `containers are told the hub is at ${hubUrl} (host-gateway), but ${why}: ${HUB_REACH_FIX}`,
    warning: `docker: containers will likely not reach the hub at ${hubUrl}: ${why}; ${HUB_REACH_FIX}`,
  };
}

interface SelfInfo {
  Name: string;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** Berth's own container, when it runs in one on this engine (else null: it runs on the host). */
export async function findOwnContainer(port: DockerPort): Promise<SelfInfo | null> {
  const ids = ownContainerIds();
  if (ids.length === 0) return null;
  for (const id of ids) {
    const info = (await port.inspectContainer(id)) as SelfInfo | null;
    if (info) return info;
  }
  return null; // in a container, but of another engine (or another host): treat as on the host
}

/** Candidate ids: from /proc (mount sources of hostname/resolv.conf, cgroup v1 paths) and the hostname. */
export function ownContainerIds(): string[] {
  const ids = new Set<string>();
  for (const file of ['/proc/self/mountinfo', '/proc/self/cgroup']) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const m of text.matchAll(/(?:\/containers\/|docker[-/])([0-9a-f]{64})/g)) ids.add(m[1]!);
  }
  if (ids.size === 0 && !existsSync('/.dockerenv')) return [];
  ids.add(hostname()); // Docker sets the hostname to the short container id unless told otherwise
  return [...ids];
}

