// Picks the backend named by config.backend.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { Backend } from './types.ts';
import { DockerBackend } from './docker/index.ts';
import { FakeBackend } from './fake/index.ts';

export function createBackend(config: Config, log: Logger): Backend {
  switch (config.backend) {
    case 'docker':
      return new DockerBackend(config, log);
    case 'fake':
      return new FakeBackend();
  }
}
