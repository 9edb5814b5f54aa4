// Run by `npm test` before the tests: is there a Docker engine with Berth's test images?
// Fast path (silent, well under 1 s): one `docker image inspect` of both tags, which also fails when no
// engine answers. Otherwise, as root on Debian, run scripts/test-env.sh (installs, starts dockerd,
// builds the images); anywhere else, say what to do and fail.
//
// Docker client, same logic as test-env.sh: prefer /usr/bin/docker (from docker.io, same version as the
// 20.10 engine). The 28.x client at /usr/local/bin/docker negotiates down to API 1.41 by itself; a
// client that refuses with "client version X is too new. Maximum supported API version is Y" is
// retried with DOCKER_API_VERSION=Y. Nothing is exported: Berth's code uses dockerode, which negotiates
// the API version itself. (In a shell, `export DOCKER_API_VERSION=1.41` fixes such a client.)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const IMAGES = ['berth-test/singleuser:3.0.0', 'berth-test/tiny:latest'];
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

function imagesPresent(env = process.env) {
  const r = spawnSync(DOCKER, ['image', 'inspect', '--format', '{{.Id}}', ...IMAGES], {
    env,
    encoding: 'utf8',
    timeout: 15000,
  });
  if (r.status === 0) return true;
  const refused = /too new.*Maximum supported API version is ([0-9.]+)/.exec(`${r.stdout}${r.stderr}`);
  if (refused && env === process.env) {
    return imagesPresent({ ...process.env, DOCKER_API_VERSION: refused[1] });
  }
  return false;
}

// The browser tests drive Debian's Chromium, the service test Debian's jupyterhub Python package, the
// LDAP tests Debian's slapd; a
// machine set up before those tests existed lacks them.
const PEERS = ['/usr/bin/chromium', '/usr/lib/python3/dist-packages/jupyterhub/services/auth.py', '/usr/sbin/slapd'];
if (imagesPresent() && PEERS.every((p) => existsSync(p))) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && existsSync('/etc/debian_version')) {
  const script = fileURLToPath(new URL('./test-env.sh', import.meta.url));
  const r = spawnSync('bash', [script], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
console.error(
  'berth tests need a Docker engine, the test images and Chromium: run `sudo bash scripts/test-env.sh` (Debian) or start Docker and build them',
);
process.exit(1);
