// How containers and the hub reach each other, worked out at start-up with no admin setting (design §6):
// on a user network Berth itself is attached to, by container name; otherwise through ports published
// on 127.0.0.1 and a hub address the containers can reach (host.docker.internal → host-gateway).
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import type { HubReach } from '../types.ts';
import type { DockerPort } from './port.ts';

/**
 * - network: Berth runs in a container on `network`; servers join it and are reached by name.
 * - host: Berth runs on the host; servers publish their port on 127.0.0.1 (random host port) and
 *   join `network` when one is configured.
 */
export type Networking = { mode: 'network'; network: string } | { mode: 'host'; network?: string | undefined };

export interface Reach extends HubReach {
  networking: Networking;
}

const DEFAULT_NETWORKS = new Set(['bridge', 'host', 'none']);
const WILDCARD = new Set(['0.0.0.0', '::', '']);

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
      const name = self.Name.replace(/^\//, '');
      const ip = self.NetworkSettings?.Networks?.[network]?.IPAddress;
      // Berth may listen on 127.0.0.1 inside its container: also listen on its address on the network.
      const extraListen = !hub.connectUrl && ip && !WILDCARD.has(config.hub.ip) ? [{ host: ip, port: hub.port }] : [];
      log.info('docker: servers reach the hub by container name', { network, hub: name });
      const hubUrl = hub.connectUrl ?? `http://${name}:${hub.port}`;
      return { hubUrl, extraListen, networking: { mode: 'network', network }, description: `containers reach the hub at ${hubUrl} (by container name on network ${network})` };
    }
    log.warn('docker: Berth runs in a container that is not on the servers\' network; set docker.network to a network Berth is attached to', {
      container: self.Name, attached, configured,
    });
  }
  if (configured) await ensureNetwork(port, configured, log);
  const networking: Networking = { mode: 'host', network: configured };
  if (hub.connectUrl) return { hubUrl: hub.connectUrl, extraListen: [], networking, description: `containers reach the hub at ${hub.connectUrl} (hub.hub_connect_url)` };
  const bridge = await port.inspectNetwork('bridge');
  const gateway = bridge?.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
  if (!gateway) log.warn('docker: no gateway on the default bridge network; containers may not reach the hub (set hub.hub_connect_url)');
  // host-gateway resolves to that same bridge gateway, so listening there makes the hub API reachable
  // while the hub itself stays on 127.0.0.1. A hub already on all interfaces needs no extra listener.
  const extraListen = gateway && !WILDCARD.has(config.hub.ip) && config.hub.ip !== gateway ? [{ host: gateway, port: hub.port }] : [];
  const hubUrl = `http://host.docker.internal:${hub.port}`;
  return { hubUrl, extraListen, networking, description: `containers reach the hub at ${hubUrl} (${gateway ?? 'host-gateway'})` };
}

interface SelfInfo {
  Name: string;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> };
}

/** Berth's own container, when it runs in one on this engine (else null: it runs on the host). */
async function findOwnContainer(port: DockerPort): Promise<SelfInfo | null> {
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

async function ensureNetwork(port: DockerPort, name: string, log: Logger) {
  if (await port.inspectNetwork(name)) return;
  await port.createNetwork(name, { 'berth.managed-by': 'berth' });
  log.info('docker: created network', { network: name });
}
