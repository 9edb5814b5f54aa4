// The checks JupyterHub makes on a server name before a spawn or stop (spec E.1, E.2).
import type { Config } from '../../config/schema.ts';
import { invalid } from '../../errors.ts';
import { validServerName } from '../../names.ts';

export function checkServerName(config: Config, serverName: string): void {
  if (serverName && !config.hub.allow_named_servers) throw invalid('Named servers are not enabled.');
  if (!validServerName(serverName)) throw invalid(`Invalid server_name (may not contain '/' or whitespace): ${serverName}`);
}
