// What the hub-reach probe of every Docker-based backend shares (docker's container, swarm's
// service): the script the probe runs, its time bounds, what its output and exit code mean, and
// which probes found by label a killed process left behind.
import { isHubApiAnswer, probeMessage } from '../hub-probe.ts';
import type { HubProbeResult } from '../types.ts';
import { LABELS } from '../docker/container-spec.ts';
import { DockerError } from '../docker/port.ts';

/** How long the probe may run; each client gives up on its own after 5 s. */
export const PROBE_WAIT_MS = 20_000;
/**
 * A probe older than this is left over whoever made it: the wait above, plus the image check,
 * create, start, logs and remove around it (each its own engine call, slow on a loaded engine).
 */
export const PROBE_MAX_AGE_MS = PROBE_WAIT_MS + 40_000;

/**
 * Whether a probe found by label is left over: its creator is gone (killed mid-probe), or it is past
 * PROBE_MAX_AGE_MS. `createdAt` is the engine's creation time, used when the label is missing (a
 * probe of an earlier Berth, which also has no creator: only its age can tell).
 */
export function isStaleProbe(labels: Record<string, string>, createdAt: number | undefined, isGone: (creator: string) => boolean, now: number): boolean {
  const creator = labels[LABELS.creator];
  if (creator && isGone(creator)) return true;
  const at = Number(labels[LABELS.created] ?? createdAt);
  return Number.isFinite(at) && now - at > PROBE_MAX_AGE_MS;
}
const NO_CLIENT = 'berth-probe: none of python3, wget, curl';

/**
 * `$1` is the URL. Prints the body on success; on failure the client's own last line says what went
 * wrong (python3 is tried first: every Jupyter image has it, and it honours the timeout for connect).
 * BusyBox's wget (1.35, Debian 12) crashes with -T, so its timeout comes from `timeout` when present.
 */
export const PROBE_SCRIPT = `if command -v python3 >/dev/null 2>&1; then
  exec python3 -c 'import sys, urllib.request
try: sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except urllib.error.HTTPError as e: sys.exit("python3: HTTP %s %s" % (e.code, e.reason))
except Exception as e: sys.exit("python3: %s" % getattr(e, "reason", e))' "$1"
elif command -v wget >/dev/null 2>&1; then
  case "$(wget --help 2>&1)" in
    *BusyBox*) if command -v timeout >/dev/null 2>&1; then exec timeout 5 wget -O - "$1"; else exec wget -O - "$1"; fi ;;
    *) exec wget -T 5 -O - "$1" ;;
  esac
elif command -v curl >/dev/null 2>&1; then exec curl -fsS --connect-timeout 5 -m 5 "$1"
else echo "${NO_CLIENT}" >&2; exit 3
fi`;

/** The probe's command line: the script under /bin/sh, with the hub API root as `$1`. */
export function probeCommand(apiUrl: string): string[] {
  return ['/bin/sh', '-c', PROBE_SCRIPT, 'berth-probe', `${apiUrl}/`];
}

/**
 * What ran the probe, in the messages: `client` is who tried ("a container"), `run` the object
 * Berth made ("container": "the probe container did not finish", "could not run a probe container").
 */
export interface ProbeRunner { client: string; run: string }

export const CONTAINER_RUNNER: ProbeRunner = { client: 'a container', run: 'container' };

/** What the probe's run means. exitCode undefined: it did not finish in time. */
export function probeOutcome(r: { image: string; apiUrl: string; exitCode: number | undefined; output: string }, by: ProbeRunner = CONTAINER_RUNNER): HubProbeResult {
  if (r.output.includes(NO_CLIENT)) return { ok: null, message: `not checked: image ${r.image} has none of python3, wget, curl` };
  if (r.exitCode === undefined) return { ok: null, message: `not checked: the probe ${by.run} (image ${r.image}) did not finish within ${PROBE_WAIT_MS / 1000} s` };
  if (r.exitCode === 0 && isHubApiAnswer(r.output)) return { ok: true, message: probeMessage.reached(by.client, r.apiUrl) };
  const lastLine = r.output.split('\n').map((l) => l.trim()).filter(Boolean).at(-1)?.slice(0, 300).replace(/\.$/, '');
  const said = r.exitCode === 0
    ? `what answered is not the hub API (${lastLine ?? 'an empty body'})`
    : (lastLine ?? `the client exited with code ${r.exitCode} and printed nothing`);
  return { ok: false, message: probeMessage.failed(by.client, r.apiUrl, said) };
}

/** An engine call of the probe failed (or the probe was cancelled): nothing was proven either way. */
export function probeNotRun(err: unknown, image: string, by: ProbeRunner = CONTAINER_RUNNER): HubProbeResult {
  const why = err instanceof DockerError ? (err.kind === 'Aborted' ? 'cancelled' : `${err.op}: ${err.detail}`) : String(err);
  return { ok: null, message: `not checked: could not run a probe ${by.run} from image ${image} (${why})` };
}

/** The image rule: never pull for a check, as an image that is not here cannot be the one servers will run yet. */
export function imageNotPresent(image: string): HubProbeResult {
  return { ok: null, message: `not checked: image ${image} is not present locally` };
}
