// What a server's service looks like to the swarm, from its spec: the container's labels, env, command,
// user and mounts (as the docker backend builds them), plus limits and reservations, generic resources,
// placement, no restarts, and how it is reached. Pure, so the shape is unit-tested without an engine.
import type { Config } from '../../config/schema.ts';
import type { SwarmConfig } from '../../config/backend-schema.ts';
import type { ServerMount, ServerSpec } from '../types.ts';
import { containerCmd, containerLabels, homeVolumeLabels } from '../docker/container-spec.ts';

export const SWARM_KIND = 'swarm';

/** How services are reached: by name on the overlay (Berth attached to it) or through an ingress port (Berth on the host). */
export type SwarmNetworking =
  | { mode: 'network'; network: string }
  | { mode: 'host'; network: string; hubAddress?: string | undefined };

/** Grace period between SIGTERM and SIGKILL at removal, as the docker backend's stop. */
export const STOP_GRACE_NS = 10 * 1e9;

/**
 * How a task names the hub beside joining the servers' network: swarm has no host-gateway, so on the
 * host, host.docker.internal is Berth's docker_gwbridge address (servers and the hub probe alike).
 */
export function hubHosts(networking: SwarmNetworking): { Hosts?: string[] } {
  return networking.mode === 'host' && networking.hubAddress ? { Hosts: [`${networking.hubAddress} host.docker.internal`] } : {};
}

function serviceMount(config: Config, swarm: SwarmConfig, spec: ServerSpec, m: ServerMount): Record<string, unknown> {
  const base = { Type: m.type, Source: m.source, Target: m.target, ...(m.readOnly ? { ReadOnly: true } : {}) };
  if (!m.home) return base;
  // The node that runs the task creates the home volume: with these labels (prune finds it) and driver.
  const driver = swarm.volume_driver ? { DriverConfig: { Name: swarm.volume_driver, Options: swarm.volume_driver_options } } : {};
  return { ...base, VolumeOptions: { Labels: homeVolumeLabels(config, spec), ...driver } };
}

export function serviceCreateBody(args: {
  config: Config;
  swarm: SwarmConfig;
  spec: ServerSpec;
  name: string;
  networking: SwarmNetworking;
  imageCmd?: string[] | null | undefined;
}): Record<string, unknown> {
  const { config, swarm, spec, name, networking } = args;
  const env = { JUPYTER_IMAGE_SPEC: spec.image, ...spec.env };
  const labels = containerLabels(config, spec, SWARM_KIND);
  const cmd = containerCmd(spec, args.imageCmd);
  const generic = Object.entries(swarm.generic_resources).map(([Kind, Value]) => ({ DiscreteResourceSpec: { Kind, Value } }));
  const limits = {
    ...(spec.cpuLimit ? { NanoCPUs: Math.round(spec.cpuLimit * 1e9) } : {}),
    ...(spec.memLimit ? { MemoryBytes: spec.memLimit } : {}),
  };
  // Swarm's reservations are what the scheduler keeps free for the server: guarantees, as Spawner means them.
  const reservations = {
    ...(spec.cpuGuarantee ? { NanoCPUs: Math.round(spec.cpuGuarantee * 1e9) } : {}),
    ...(spec.memGuarantee ? { MemoryBytes: spec.memGuarantee } : {}),
    ...(generic.length ? { GenericResources: generic } : {}),
  };
  const hostMode = networking.mode === 'host';
  return {
    Name: name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        Labels: labels,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...(cmd ? { Command: cmd } : {}),
        ...(spec.runAs !== undefined ? { User: spec.runAs } : {}),
        ...(spec.workingDir !== undefined ? { Dir: spec.workingDir } : {}),
        Mounts: spec.mounts.map((m) => serviceMount(config, swarm, spec, m)),
        StopGracePeriod: STOP_GRACE_NS,
        ...hubHosts(networking),
      },
      Resources: { Limits: limits, Reservations: reservations },
      // A server that dies is not restarted: the spawn fails with the task's error, or poll says exited.
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: {
        Constraints: swarm.constraints,
        Preferences: swarm.preferences.map((p) => ({ Spread: { SpreadDescriptor: p.slice('spread='.length) } })),
      },
      Networks: [{ Target: networking.network }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    // On the host Berth reaches the server at a port the node publishes (the engine picks it). Host
    // mode, not the ingress routing mesh: with one replica the mesh adds nothing, and on engines whose
    // iptables is nftables (Debian 12's) its published ports do not answer at all (tried: refused on
    // 127.0.0.1 and on the node's address, while a host-mode port answers).
    ...(hostMode ? { EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: spec.port, PublishMode: 'host' }] } } : {}),
  };
}

/**
 * Where the proxy reaches the service: by name on the overlay, or at the port its task's node
 * published — on 127.0.0.1 when that node is this one, else at the node's address.
 */
export function serviceUrl(args: {
  name: string; port: number; networking: SwarmNetworking | undefined;
  published: { TargetPort?: number; PublishedPort?: number }[] | undefined; nodeHost: string | undefined;
}): string | undefined {
  if (args.networking?.mode === 'network') return `http://${args.name}:${args.port}`;
  const p = args.published?.find((e) => e.TargetPort === args.port && e.PublishedPort);
  if (p && args.nodeHost) return `http://${args.nodeHost}:${p.PublishedPort}`;
  return undefined;
}
