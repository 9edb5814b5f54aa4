// Makes a backend of one kind. Which kind new servers use is config.backend.kind; rows keep the kind
// that started them (servers.backend), and src/backends/registry.ts hands each row its own.
import type { BackendKind } from '../config/backend-schema.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { Backend } from './types.ts';
import { DockerBackend } from './docker/index.ts';
import { FakeBackend } from './fake/index.ts';
import { SystemUserBackend } from './system-user/index.ts';
import { SwarmBackend } from './swarm/index.ts';

/** `configOf` gives the config in force (it changes at a reload); the backend reads it at each use. */
export function createBackend(kind: BackendKind, configOf: () => Config, log: Logger): Backend {
  switch (kind) {
    case 'docker':
      return new DockerBackend(configOf, log);
    case 'fake':
      return new FakeBackend();
    case 'swarm':
      return new SwarmBackend(configOf, log);
    case 'system-user':
      return new SystemUserBackend(configOf, log);
  }
}
