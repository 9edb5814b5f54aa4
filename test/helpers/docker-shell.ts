// `sh -c <script>` in a test's container through Berth's own DockerPort.exec, returning what it
// printed (stdout and stderr): the integration tests' way to look inside a server's container.
import { DockerPort } from '../../src/backends/docker/port.ts';
import { silentLogger } from '../../src/log.ts';

let port: DockerPort | undefined;

export async function shellIn(containerId: string, script: string): Promise<string> {
  port ??= new DockerPort({ log: silentLogger });
  return (await port.exec(containerId, ['/bin/sh', '-c', script])).output;
}
