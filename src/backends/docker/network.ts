// The servers' Docker network (docker.network): created when missing, labelled as Berth's, internal
// when docker.network_internal says so, and refused at start with one line when what exists cannot
// work. Berth never removes it, not even one it made: servers outlive any one Berth process (a
// restarted Berth adopts them), and the admin may have attached other things to it since.
import type { Config } from '../../config/schema.ts';
import { ServiceError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { LABELS, MANAGED_BY } from './container-spec.ts';
import type { DockerPort, NetworkInfo } from './port.ts';

/** Labels on a network Berth creates (extra_labels first, so they can never spoof ours). */
export function networkLabels(config: Config): Record<string, string> {
  return { ...config.docker.extra_labels, [LABELS.managedBy]: MANAGED_BY, [LABELS.instance]: config.docker.name_prefix };
}

/**
 * Why `net` cannot carry the servers, or undefined when it can. `internal` is the setting;
 * `hostSide` says Berth runs on the host, where an internal network must be a bridge this machine
 * is on (the proxy reaches servers at their address on it: the engine publishes no ports there).
 */
export function networkProblem(net: NetworkInfo, want: { internal: boolean; hostSide: boolean }): string | undefined {
  const name = net.Name;
  const driver = net.Driver ?? 'bridge';
  if (driver === 'host' || driver === 'null') {
    return `docker.network ${name} uses the ${driver} driver, which gives servers no network of their own: name a bridge network (Berth creates it when missing)`;
  }
  if (driver === 'overlay' && !net.Attachable) {
    return `docker.network ${name} is an overlay network that is not attachable, so containers cannot join it: recreate it with docker network create --driver overlay --attachable ${name}, or name another network`;
  }
  const internal = net.Internal === true;
  if (want.internal && !internal) {
    return `docker.network ${name} exists and is not internal (its containers have a route out), but docker.network_internal is true: remove it (docker network rm ${name}) so Berth creates it internal, or name a network that does not exist yet`;
  }
  if (!want.internal && internal) {
    return `docker.network ${name} is internal (its containers reach nothing beyond it), but docker.network_internal is false: set docker.network_internal: true, or name a network that is not internal`;
  }
  if (want.internal && want.hostSide && driver !== 'bridge') {
    return `docker.network_internal with Berth on the host needs a bridge network (the proxy reaches servers at their address on it), but ${name} uses the ${driver} driver: name a bridge network, or run Berth in a container on ${name}`;
  }
  return undefined;
}

/** The network as it is: created (internal per the setting) when missing, refused when unusable. */
export async function ensureNetwork(port: DockerPort, config: Config, name: string, log: Logger): Promise<NetworkInfo> {
  const internal = config.docker.network_internal;
  let net = await port.inspectNetwork(name);
  if (!net) {
    // Another role of this Berth may create it at the same moment: createNetwork treats 409 as done.
    await port.createNetwork(name, networkLabels(config), { internal });
    log.info('docker: created network', { network: name, internal });
    net = await port.inspectNetwork(name);
    if (!net) throw new ServiceError('Unavailable', `docker.network ${name} was created but the engine does not find it: check the engine's log`);
  }
  checkNetwork(net, config, true);
  return net;
}

/** Refuses (one line, ServiceError 'Invalid') a network the servers cannot use. */
export function checkNetwork(net: NetworkInfo, config: Config, hostSide: boolean): void {
  const problem = networkProblem(net, { internal: config.docker.network_internal, hostSide });
  if (problem) throw new ServiceError('Invalid', problem);
}
