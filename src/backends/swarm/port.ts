// The engine calls only the swarm backend makes (swarm state, services, tasks, overlay networks),
// each through DockerPort.call: the same timeout, abort and error classification as every other call.
import type Docker from 'dockerode';
import { DockerError, demuxLogs, untyped, type DockerPort } from '../docker/port.ts';

/** What `docker info` says about this engine's swarm membership. */
export interface SwarmState {
  /** inactive, pending, active, error, locked. */
  state: string;
  /** Whether this node is a manager (only a manager can create services). */
  manager: boolean;
  /** This node's id in the swarm. */
  nodeId: string | undefined;
}

/** A task's state as the engine reports it (the part Berth reads). */
export interface TaskInfo {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  CreatedAt?: string;
  Status?: {
    State?: string; Err?: string; Message?: string;
    ContainerStatus?: { ExitCode?: number; ContainerID?: string };
    /** Host-mode published ports, as the node bound them. */
    PortStatus?: { Ports?: { TargetPort?: number; PublishedPort?: number }[] };
  };
  DesiredState?: string;
}

export interface ServiceInfo {
  ID: string;
  CreatedAt?: string;
  Spec: { Name: string; Labels?: Record<string, string> } & Record<string, unknown>;
  Endpoint?: { Ports?: { TargetPort?: number; PublishedPort?: number; Protocol?: string }[] };
}

export class SwarmPort {
  constructor(readonly engine: DockerPort) {}

  async swarmState(): Promise<SwarmState> {
    const info = await this.engine.info();
    return { state: info.Swarm?.LocalNodeState ?? 'inactive', manager: info.Swarm?.ControlAvailable === true, nodeId: info.Swarm?.NodeID || undefined };
  }

  /** The address a node advertises (its Status.Addr); undefined when the node is gone. */
  async nodeAddress(id: string): Promise<string | undefined> {
    try {
      const node = await this.engine.call(`inspect node ${id}`, (abortSignal) => untyped<{ Status?: { Addr?: string } }>(this.engine.docker.getNode(id), 'inspect', abortSignal));
      return node.Status?.Addr || undefined;
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'NotFound') return undefined;
      throw err;
    }
  }

  /** Creates an attachable overlay network; one that already exists (409) is success. */
  async createOverlay(name: string, labels: Record<string, string>): Promise<void> {
    try {
      await this.engine.call(`create network ${name}`, (abortSignal) =>
        this.engine.docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Labels: labels, abortSignal } as Docker.NetworkCreateOptions));
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'Conflict') return;
      throw err;
    }
  }

  async createService(spec: Record<string, unknown>): Promise<string> {
    const name = String(spec.Name ?? '');
    const r = await this.engine.call(`create service ${name}`, (abortSignal) => this.engine.docker.createService({ ...spec, abortSignal } as never), { timeoutMs: 2 * 60_000 });
    return (r as unknown as { id?: string; ID?: string }).id ?? (r as unknown as { ID: string }).ID;
  }

  async inspectService(idOrName: string): Promise<ServiceInfo | null> {
    try {
      return await this.engine.call(`inspect service ${idOrName}`, (abortSignal) => untyped<ServiceInfo>(this.engine.docker.getService(idOrName), 'inspect', abortSignal));
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'NotFound') return null;
      throw err;
    }
  }

  /** Removes a service (its tasks' containers go with it); gone (404) is success. */
  async removeService(idOrName: string): Promise<void> {
    try {
      await this.engine.call(`remove service ${idOrName}`, (abortSignal) => untyped<unknown>(this.engine.docker.getService(idOrName), 'remove', abortSignal), { timeoutMs: 60_000 });
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'NotFound') return;
      throw err;
    }
  }

  /** Services carrying every one of the `key=value` labels. */
  listServices(labels: string[]): Promise<ServiceInfo[]> {
    return this.engine.call('list services', (abortSignal) => untyped<ServiceInfo[]>(this.engine.docker, 'listServices', abortSignal, { filters: { label: labels } }));
  }

  /** The tasks of these services (all of them: an empty list asks for none). */
  async listTasks(serviceIds: string[]): Promise<TaskInfo[]> {
    if (serviceIds.length === 0) return [];
    return this.engine.call('list tasks', (abortSignal) => untyped<TaskInfo[]>(this.engine.docker, 'listTasks', abortSignal, { filters: { service: serviceIds } }));
  }

  /** The last `tail` lines of the service's output, demultiplexed ('' when the service is gone). */
  async serviceLogs(id: string, tail: number): Promise<string> {
    try {
      const raw = await this.engine.call(`service logs ${id}`, (abortSignal) =>
        untyped<Buffer | string>(this.engine.docker.getService(id), 'logs', abortSignal, { stdout: true, stderr: true, tail, follow: false }));
      return demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    } catch (err) {
      if (err instanceof DockerError && err.kind === 'NotFound') return '';
      throw err;
    }
  }
}

