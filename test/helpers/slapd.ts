// A throwaway OpenLDAP server (Debian's slapd) on 127.0.0.1 for the LDAP login tests: its own
// slapd.conf, database, CA and server certificate in a temporary directory — never the system's
// /etc/ldap/slapd.d — started in the foreground with the `stats` log on stderr (so tests can count
// connections and binds), and stopped by its PID. A missing slapd fails loudly, naming the package.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './berth-process.ts';
import { until } from './until.ts';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';
export const SLAPD_PACKAGES = 'slapd';

/** The salted SHA-1 userPassword form slappasswd makes by default ({SSHA}). */
export function ssha(password: string): string {
  const salt = randomBytes(8);
  return '{SSHA}' + Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64');
}

export interface Bind { conn: string; dn: string; method: number }

export interface Slapd {
  host: '127.0.0.1';
  /** Plain LDAP (StartTLS offered when TLS is configured). */
  port: number;
  /** LDAPS (TLS from the first byte); undefined when started with tls: false. */
  ldapsPort: number | undefined;
  suffix: string;
  rootDn: string;
  rootPassword: string;
  /** PEM of the CA that signed the server's certificate (SAN IP:127.0.0.1, DNS:localhost). */
  caFile: string;
  /** PEM of another CA, which signed nothing this server presents. */
  otherCaFile: string;
  dir: string;
  /** slapd's stderr so far (the stats log). */
  log(): string;
  /** Connections slapd accepted so far. */
  accepted(): number;
  /** Connections slapd has closed so far. */
  closed(): number;
  /** Simple binds slapd received so far, in order. */
  binds(): Bind[];
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A CA and a server certificate it signed (EC P-256, two days), plus an unrelated CA. */
function makeCerts(dir: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    run('openssl', ['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=Berth test ${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { cwd: dir });
  }
  run('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], { cwd: dir });
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], { cwd: dir });
}

export interface SlapdOptions {
  /** Entries below the suffix (the suffix entry itself is added). */
  ldif?: string;
  /** Configure TLS (LDAPS listener and StartTLS). Default true. */
  tls?: boolean;
  suffix?: string;
}

/**
 * Starts slapd with a fresh database holding `ldif`. It allows unauthenticated binds (a DN with an
 * empty password: `allow bind_anon_dn`), as many directories do, so a test can show that such a
 * bind would succeed here. Stopped by `stop()`, and at process exit if a test forgets.
 */
export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  for (const f of [SLAPD, SLAPADD, join(SCHEMA_DIR, 'nis.schema'), join(MODULE_DIR, 'back_mdb.so')]) {
    if (!existsSync(f)) {
      throw new Error(`${f} is missing: the LDAP tests need Debian's OpenLDAP server. Install it with ` +
        `\`DEBIAN_FRONTEND=noninteractive apt-get install -y ${SLAPD_PACKAGES}\` (scripts/test-env.sh PACKAGES)`);
    }
  }
  const tls = opts.tls ?? true;
  const suffix = opts.suffix ?? 'dc=example,dc=org';
  const rootDn = `cn=admin,${suffix}`;
  const rootPassword = randomBytes(12).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'berth-slapd-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  try {
    const confFile = prepare(dir, { tls, suffix, rootDn, rootPassword, ldif: opts.ldif ?? '' });
    // slapd cannot listen on port 0 and say which it got: pick free ports, retry if one was taken meanwhile.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const ldapsPort = tls ? await freePort() : undefined;
      let slapd: Slapd | undefined;
      try {
        slapd = handle(await launch(confFile, port, ldapsPort), { dir, port, ldapsPort, suffix, rootDn, rootPassword });
        // "slapd starting" is logged before the daemon thread calls listen(): wait until it accepts
        for (const p of [port, ldapsPort]) if (p) await listening(p);
        const running = slapd;
        let stopped: Promise<void> | undefined;
        return { ...running, stop: () => (stopped ??= running.stop().then(() => { removeDir(); process.removeListener('exit', removeDir); })) };
      } catch (err) {
        await slapd?.stop();
        lastError = err;
      }
    }
    throw lastError;
  } catch (err) {
    removeDir();
    process.removeListener('exit', removeDir);
    throw err;
  }
}

/** Certificates, slapd.conf and the database loaded with slapadd; returns the config file. */
function prepare(dir: string, o: { tls: boolean; suffix: string; rootDn: string; rootPassword: string; ldif: string }): string {
  mkdirSync(join(dir, 'db'));
  makeCerts(dir);
  const dc = /^dc=([^,]+)/.exec(o.suffix)?.[1] ?? 'example';
  writeFileSync(join(dir, 'data.ldif'), `dn: ${o.suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: ${dc}\no: ${dc}\n\n${o.ldif}`);
  const conf = [
    ...['core', 'cosine', 'nis', 'inetorgperson'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    ...(o.tls ? [`TLSCACertificateFile ${dir}/ca.pem`, `TLSCertificateFile ${dir}/server.pem`, `TLSCertificateKeyFile ${dir}/server.key`] : []),
    'allow bind_anon_dn',
    'database mdb',
    `suffix "${o.suffix}"`,
    `rootdn "${o.rootDn}"`,
    `rootpw ${ssha(o.rootPassword)}`,
    `directory ${dir}/db`,
    'maxsize 16777216',
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
    '',
  ].join('\n');
  const confFile = join(dir, 'slapd.conf');
  writeFileSync(confFile, conf);
  run(SLAPADD, ['-f', confFile, '-l', join(dir, 'data.ldif')]);
  return confFile;
}

async function listening(port: number): Promise<void> {
  await until(`slapd to listen on 127.0.0.1:${port}`, () => new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  }), 10_000, 20);
}

interface Running { child: ChildProcess; output: { text: string } }

function launch(confFile: string, port: number, ldapsPort: number | undefined): Promise<Running> {
  const urls = `ldap://127.0.0.1:${port}/${ldapsPort ? ` ldaps://127.0.0.1:${ldapsPort}/` : ''}`;
  // -d stats: stay in the foreground and log connections and operations to stderr
  const child = spawn(SLAPD, ['-f', confFile, '-h', urls, '-d', 'stats'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const output = { text: '' };
  const killAtExit = () => child.kill('SIGKILL');
  process.once('exit', killAtExit);
  child.once('exit', () => process.removeListener('exit', killAtExit));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.text += chunk.toString('utf8');
      if (/slapd starting/.test(output.text)) {
        child.stderr!.removeListener('data', onData);
        child.stderr!.on('data', (c: Buffer) => { output.text += c.toString('utf8'); });
        child.removeListener('exit', onExit);
        resolve({ child, output });
      }
    };
    const onExit = (code: number | null) => reject(new Error(`slapd exited (${code}) before it started:\n${output.text}`));
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function handle(r: Running, o: { dir: string; port: number; ldapsPort: number | undefined; suffix: string; rootDn: string; rootPassword: string }): Slapd {
  const { child, output } = r;
  const count = (re: RegExp) => (output.text.match(re) ?? []).length;
  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1', ...o,
    caFile: join(o.dir, 'ca.pem'),
    otherCaFile: join(o.dir, 'other-ca.pem'),
    log: () => output.text,
    accepted: () => count(/ ACCEPT from /g),
    closed: () => count(/ fd=\d+ closed/g),
    binds: () => [...output.text.matchAll(/(conn=\d+) op=\d+ BIND dn="([^"]*)" method=(\d+)/g)].map((m) => ({ conn: m[1]!, dn: m[2]!, method: Number(m[3]) })),
    stop: () => (stopping ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      process.kill(child.pid!, 'SIGTERM');
    })),
  };
}
