// Two parts of dockerode that Berth's default path never runs are loaded only when first called:
// its BuildKit session (@grpc/grpc-js + protobufjs, for image builds with credentials) and
// docker-modem's SSH transport (ssh2, for an ssh:// docker.host). dockerode require()s both at load,
// and together they were about a fifth of an idle `berth serve`'s memory. Each is put in require's
// cache as a function that loads the real module on its first call, so nothing behaves differently:
// an ssh:// engine still works, it just loads ssh2 when it first connects. Imported before dockerode.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Module = require('node:module') as { new (id: string): NodeJS.Module };

/** `id`, resolved from the module file `from` (a path, or a function giving one). */
function deferred(from: () => string, id: string): void {
  let file: string;
  try {
    file = createRequire(from()).resolve(id);
  } catch {
    return; // another layout of the packages: leave it to load as it does
  }
  if (require.cache[file]) return;
  let real: ((...args: unknown[]) => unknown) | undefined;
  const load = () => {
    if (!real) {
      delete require.cache[file];
      real = require(file) as (...args: unknown[]) => unknown;
    }
    return real;
  };
  const stub = new Module(file);
  stub.filename = file;
  stub.loaded = true;
  stub.exports = function (this: unknown, ...args: unknown[]) { return load().apply(this, args); };
  require.cache[file] = stub;
}

const dockerode = () => require.resolve('dockerode');
deferred(dockerode, './session.js');
deferred(() => createRequire(dockerode()).resolve('docker-modem'), './ssh.js');
