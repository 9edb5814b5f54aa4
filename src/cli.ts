// Command line: `berth serve | api | proxy | worker | migrate | check-config | version`. Every failure is one line saying
// what is wrong and how to fix it (a config report lists each bad key, one per line).
import { parseArgs } from 'node:util';
import { ConfigError, dbUrl, loadConfig } from './config/load.ts';
import { ServiceError } from './errors.ts';

const USAGE = `usage: berth <command> [--config FILE]

commands:
  serve          run the api, the proxy and the worker in one process (the default)
  api            run only the api (pages, REST API, OAuth) on hub.hub_ip:hub.hub_port
  proxy          run only the proxy on hub.ip:hub.port, forwarding the hub's requests to hub.api_url
  worker         run only the worker (spawns, reconcile, jobs; one acts at a time, by lease)
  migrate        apply database migrations and exit
  check-config   validate the configuration and exit
  version        print the version

The config file may also be given as BERTH_CONFIG; with neither, Berth runs on its embedded defaults.`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    console.error(`berth: ${(e as Error).message} (see \`berth --help\`)`);
    return 2;
  }
  const command = parsed.positionals[0] ?? 'serve';
  if (parsed.values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const file = parsed.values.config;
  switch (command) {
    case 'serve':
    case 'api':
    case 'proxy':
    case 'worker': {
      const { serveUntilSignalled, ALL_ROLES } = await import('./serve.ts');
      await serveUntilSignalled(command === 'serve' ? ALL_ROLES : [command], { configFile: file });
      return -1; // keeps running
    }
    case 'migrate': {
      const { config } = loadConfig({ file });
      const { openDb } = await import('../db/client.ts');
      const db = await openDb(dbUrl(config), { authToken: config.hub.db_auth_token });
      db.$client.close();
      console.log(`berth: database ${dbUrl(config)} is up to date`);
      return 0;
    }
    case 'check-config': {
      const { source } = loadConfig({ file });
      console.log(`berth: configuration OK (${source})`);
      return 0;
    }
    case 'version': {
      const { readFileSync } = await import('node:fs');
      // src/cli.ts or, compiled, dist/src/cli.js: the package's own package.json is one or two levels up
      const { existsSync } = await import('node:fs');
      const near = new URL('../package.json', import.meta.url);
      const pkg = JSON.parse(readFileSync(existsSync(near) ? near : new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      console.log(`berth ${pkg.version}`);
      return 0;
    }
    default:
      console.error(`berth: unknown command "${command}" (commands: serve, api, proxy, worker, migrate, check-config, version)`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exit(code); },
  (e: unknown) => {
    if (e instanceof ConfigError) console.error(`berth: ${e.message}`);
    else if (e instanceof ServiceError) console.error(`berth: ${e.message}`);
    else console.error(`berth: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
