// The floor of the spawn bench: the containers Berth made, made again straight on the Engine API —
// the same image, environment, command, network, extra hosts, published loopback port and home
// volume, copied from a container Berth started (docker inspect) — then polled until they answer
// HTTP by the same rule Berth's readiness uses. Only the names, the user in the paths and the labels
// (berth.bench=<tag>, so cleanup finds them) differ.
import type Docker from 'dockerode';
import { BENCH_LABELS, TAG, docker, pool, untilAnswers } from './spawn-kit.ts';

export interface Template { info: Docker.ContainerInspectInfo; user: string }

/** The template: the container Berth made for `user` (found by its labels). */
export async function templateOf(user: string): Promise<Template> {
  const [c] = await docker.listContainers({ all: true, filters: { label: [`berth.bench=${TAG}`, `berth.user=${user}`] } });
  if (!c) throw new Error(`no container of ${user} to copy`);
  return { info: await docker.getContainer(c.Id).inspect(), user };
}

function bodyFor(t: Template, user: string, volume: string): Docker.ContainerCreateOptions {
  const { Config, HostConfig } = t.info;
  const swap = (s: string) => s.split(`/user/${t.user}/`).join(`/user/${user}/`).replace(new RegExp(`^JUPYTERHUB_USER=${t.user}$`), `JUPYTERHUB_USER=${user}`);
  return {
    name: `${TAG}-floor-${user}`,
    Image: Config.Image,
    Env: (Config.Env ?? []).map(swap),
    ...(Config.Cmd ? { Cmd: Config.Cmd } : {}),
    ...(Config.User ? { User: Config.User } : {}),
    Labels: { ...BENCH_LABELS, 'berth.floor': '1' },
    ExposedPorts: Config.ExposedPorts,
    HostConfig: {
      NetworkMode: HostConfig.NetworkMode,
      ...(HostConfig.ExtraHosts ? { ExtraHosts: HostConfig.ExtraHosts } : {}),
      PortBindings: HostConfig.PortBindings,
      RestartPolicy: { Name: 'no' },
      Mounts: (HostConfig.Mounts ?? []).map((m) => ({ ...m, Source: m.Type === 'volume' ? volume : m.Source })),
    },
  };
}

/** The prefix the server answers under (its JUPYTERHUB_SERVICE_PREFIX), for `user`. */
function prefixOf(t: Template, user: string): string {
  const env = t.info.Config.Env?.find((e) => e.startsWith('JUPYTERHUB_SERVICE_PREFIX='))?.split('=')[1] ?? `/user/${t.user}/`;
  return env.split(`/user/${t.user}/`).join(`/user/${user}/`);
}

/** One container: volume, create, start, inspect for its port, then HTTP. Resolves with ms from `t0`. */
async function one(t: Template, user: string, t0: number, pollMs: number): Promise<number> {
  const volume = `${TAG}-floor-${user}`;
  await docker.createVolume({ Name: volume, Labels: { ...BENCH_LABELS, 'berth.floor': '1' } });
  const c = await docker.createContainer(bodyFor(t, user, volume));
  await c.start();
  const info = await c.inspect();
  const port = Object.values(info.NetworkSettings.Ports ?? {})[0]?.[0]?.HostPort;
  if (!port) throw new Error(`floor container ${user} has no published port`);
  await untilAnswers(`http://127.0.0.1:${port}${prefixOf(t, user)}api`, pollMs, 120_000);
  return performance.now() - t0;
}

/** `users.length` floor containers started at once; ms until each answered, and until all did. */
export async function floorBurst(t: Template, users: string[], pollMs = 10): Promise<{ allMs: number; each: number[] }> {
  const t0 = performance.now();
  const each = await Promise.all(users.map((u) => one(t, u, t0, pollMs)));
  return { allMs: performance.now() - t0, each };
}

/** Removes the floor's containers and volumes (label berth.floor=1 of this bench run). */
export async function removeFloor(): Promise<void> {
  const label = [`berth.bench=${TAG}`, 'berth.floor=1'];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  await pool(containers, 8, async (c) => { await docker.getContainer(c.Id).remove({ force: true }).catch(() => {}); });
  const volumes = (await docker.listVolumes({ filters: { label } })).Volumes ?? [];
  await pool(volumes, 8, async (v) => { await docker.getVolume(v.Name).remove().catch(() => {}); });
}
