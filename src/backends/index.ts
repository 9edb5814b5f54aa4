// Picks the backend named by config.backend.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { Backend } from './types.ts';
import { DockerBackend } from './docker/index.ts';
import { FakeBackend } from './fake/index.ts';

/** `configOf` gives the config in force (it changes at a reload); the backend reads it at each use. */
export function createBackend(configOf: () => Config, log: Logger): Backend {
  switch (configOf().backend) {
    case 'docker':
      return new DockerBackend(configOf, log);
    case 'fake':
      return new FakeBackend();
  }
}
