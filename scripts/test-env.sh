#!/usr/bin/env bash
# Prepare this machine for Berth's tests: a running Docker engine and two locally built images
#   berth-test/singleuser:3.0.0  a real jupyterhub-singleuser (Debian's jupyterhub 3.0.0 + notebook 6)
#   berth-test/tiny:latest       a ~2 MB busybox httpd stand-in for tests that start many servers
# There is no registry here, so images are built from Debian packages and `docker import`ed.
# Idempotent and cached: when everything is in place a re-run takes a fraction of a second.
# Run as root on Debian 12 (CI runs it with CI=true and no stdin): bash scripts/test-env.sh
#
# Docker client note: /usr/local/bin/docker may be a newer client (28.x, API 1.50) than the engine
# docker.io ships (20.10, API 1.41). We use /usr/bin/docker from docker.io when present; if a client
# ever refuses the engine, we pin DOCKER_API_VERSION to the engine's version (see docker_ok).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SINGLEUSER_TAG=berth-test/singleuser:3.0.0
TINY_TAG=berth-test/tiny:latest
APT_SOURCES=/etc/apt/sources.list.d/debian.sources # the machine's own mirror, never a hard-coded host
# chromium: the real browser the end-to-end tests drive (through playwright-core, never its own download)
# docker-registry: a real registry on loopback for the pull path (pull policy, pre-pull), started by the tests
# iproute2: `ip`, with which the engine-restart test makes the bridge of its own second dockerd
# openssl: the README's webhook example signs its call with `openssl dgst`, and a test runs it
# jupyterhub: Debian's JupyterHub (3.0.0); test/integration/hub-service.test.ts runs a real HubOAuth
# service on its Python library with /usr/bin/python3. slapd: Debian's OpenLDAP server; the LDAP login
# tests start a throwaway one on 127.0.0.1 (own slapd.conf, database and certs in a temp dir)
# btrfs-progs, e2fsprogs: test/integration/storage-size.test.ts runs engines of its own on a loop-mounted btrfs
# (which keeps per-container quotas, docker.storage_size) and ext4 (which does not)
PACKAGES=(docker.io mmdebstrap busybox-static ca-certificates iptables curl debian-archive-keyring chromium docker-registry iproute2 openssl jupyterhub slapd btrfs-progs e2fsprogs)
DOCKERD_LOG=/var/log/dockerd.log
DOCKERD_TIMEOUT=60
LOG=/var/log/berth-test-env.log # full output of apt, mmdebstrap and docker import
[ -w /var/log ] || LOG=/tmp/berth-test-env.log

now_ms() { date +%s%3N; }
T_START=$(now_ms)
say() { echo "test-env: $*"; }
die() { echo "test-env: FAILED: $*" >&2; exit 1; }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10)); }
# step NAME CMD...: run one step and print how long it took
step() { local name=$1 t; t=$(now_ms); shift; "$@"; say "$name done in $(since "$t")"; }
is_root() { [ "$(id -u)" = 0 ]; }

TMP=""
DOCKER=""
VERIFYING="" # tag being verified: if the script exits before verification ends, the image is removed
VERIFYING_OLD="" # and so is the previous build it replaced (stale recipe, now untagged)
cleanup() {
    if [ -n "$VERIFYING" ]; then
        "$DOCKER" image rm -f "$VERIFYING" $VERIFYING_OLD >/dev/null 2>&1 || true
        echo "test-env: removed $VERIFYING because it failed verification" >&2
    fi
    # remove verification containers of this run and the scratch dir (rootfs tarball is ~500 MB)
    if [ -n "$DOCKER" ]; then
        local ids
        ids=$("$DOCKER" ps -aq --filter "label=berth.test.verify=$$" 2>/dev/null || true)
        [ -z "$ids" ] || "$DOCKER" rm -f $ids >/dev/null 2>&1 || true
    fi
    [ -z "$TMP" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# Two concurrent runs (two engineers, or CI and a developer) would race on apt and image tags.
LOCK=/tmp/berth-test-env.lock
# (a non-root user cannot open root's lock file; it then gets its own, as it cannot build anyway)
{ exec 9>>"$LOCK"; } 2>/dev/null || { LOCK=/tmp/berth-test-env.$(id -u).lock; exec 9>>"$LOCK"; }
if ! flock -n 9; then
    say "waiting for another test-env.sh run (lock $LOCK)"
    flock -w 900 9 || die "another test-env.sh run still holds $LOCK after 900s"
fi

# ---------------------------------------------------------------- packages
ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then say "packages: all present, apt skipped"; return; fi
    is_root || die "missing packages (${missing[*]}) and not root: run with sudo"
    say "packages: installing ${missing[*]} (log $LOG)"
    # Lock timeout: wait for another apt instead of failing on its lock
    apt-get -o DPkg::Lock::Timeout=600 update >>"$LOG" 2>&1 ||
        die "apt-get update failed (see $LOG): $(tail -n1 "$LOG")"
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
        die "apt-get install ${missing[*]} failed (see $LOG): $(tail -n1 "$LOG")"
}

# ---------------------------------------------------------------- docker engine
pick_client() {
    if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker # matches the docker.io engine
    else DOCKER=$(command -v docker) || die "no docker client found"; fi
}
docker() { "$DOCKER" "$@"; }

docker_ok() {
    local err v
    err=$(docker info 2>&1) && return 0 # (a refusal is printed on stdout)
    # The engine may answer while this client refuses it ("client version 1.50 is too new. Maximum
    # supported API version is 1.41" from a client that does not negotiate): pin it to the engine's.
    v=$(sed -n 's/.*too new.*Maximum supported API version is \([0-9.]*\).*/\1/p' <<<"$err" | head -n1)
    [ -n "$v" ] && DOCKER_API_VERSION=$v "$DOCKER" info >/dev/null 2>&1 || return 1
    export DOCKER_API_VERSION=$v
    say "engine: client $DOCKER pinned with DOCKER_API_VERSION=$v"
}

ensure_engine() {
    if docker_ok; then say "engine: already running"; return; fi
    is_root || die "no Docker engine answers '$DOCKER info' and not root to start one"
    command -v dockerd >/dev/null || die "dockerd not found (is docker.io installed?)"
    local pid
    if pid=$(cat /var/run/docker.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null; then
        say "engine: dockerd pid $pid is already starting, waiting for it"
    else
        # No systemd here. setsid: its own session, so it outlives this script and CI's process group.
        # 9>&-: the daemon must not inherit our lock fd, or it would hold the lock forever.
        setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
        pid=$!
        say "engine: started dockerd pid $pid (log $DOCKERD_LOG)"
    fi
    local deadline=$(($(now_ms) + DOCKERD_TIMEOUT * 1000))
    until docker_ok; do
        kill -0 "$pid" 2>/dev/null || die "dockerd exited while starting (see $DOCKERD_LOG): $(tail -n1 "$DOCKERD_LOG")"
        [ "$(now_ms)" -lt "$deadline" ] || die "dockerd not ready after ${DOCKERD_TIMEOUT}s (see $DOCKERD_LOG)"
        sleep 0.2
    done
}

# ---------------------------------------------------------------- image cache
# An image is reused when its tag exists AND its berth.test.recipe label matches the hash of the
# code that builds it, so editing a recipe below rebuilds it on the next run (CI machines keep images).
recipe_hash() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }
image_label() { docker image inspect -f "{{index .Config.Labels \"berth.test.recipe\"}}" "$1" 2>/dev/null || true; }

# build_if_needed TAG HASH BUILD_FN VERIFY_FN
build_if_needed() {
    local tag=$1 hash=$2 build=$3 verify=$4 old
    old=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
    if [ -n "$old" ] && [ "$(image_label "$tag")" = "$hash" ]; then
        say "$tag: cached"; BUILT+=("$tag cached"); return
    fi
    [ -z "$old" ] || say "$tag: recipe changed, rebuilding"
    [ -n "$TMP" ] || TMP=$(mktemp -d /var/tmp/berth-test-env.XXXXXX)
    step "$tag: build" "$build" "$hash"
    # A broken image must not be cached: cleanup removes it if anything fails before VERIFYING="".
    VERIFYING=$tag VERIFYING_OLD=$old
    step "$tag: verify" "$verify"
    VERIFYING="" VERIFYING_OLD=""
    # drop the now-untagged previous build (fails harmlessly if a container still uses it)
    [ -z "$old" ] || docker image rm "$old" >/dev/null 2>&1 || true
    BUILT+=("$tag built")
}

# http_code URL: status code, or 000 when nothing answers
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" || true; }
# wait_200 URL SECONDS
wait_200() {
    local deadline=$(($(now_ms) + $2 * 1000))
    until [ "$(http_code "$1")" = 200 ]; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}
# published_port CONTAINER: host port that 8888/tcp is published on
published_port() { docker port "$1" 8888/tcp | head -n1 | sed 's/.*://'; }

# ---------------------------------------------------------------- berth-test/tiny
# The start script, run by busybox sh as PID 1 inside the tiny image.
TINY_START=$(
    cat <<'EOF'
#!/bin/sh
# berth-test/tiny: stand-in for jupyterhub-singleuser. Serves 200 on $JUPYTERHUB_SERVICE_PREFIX and
# ${prefix}api on the port of $JUPYTERHUB_SERVICE_URL (8888 if unset). Test knobs:
#   TINY_FAIL=1  exit 3 at once;  TINY_HANG=1  never listen (for http_timeout tests)
if [ "${TINY_FAIL:-}" = 1 ]; then echo "tiny: failing on purpose" >&2; exit 3; fi
# PID 1 has no default signal handlers: trap, so `docker stop` ends us at once instead of in 10 s.
trap 'exit 0' TERM INT
if [ "${TINY_HANG:-}" = 1 ]; then
  echo "tiny: hanging on purpose, not listening"
  while :; do sleep 3600 & wait $!; done
fi
port=8888
hostport=${JUPYTERHUB_SERVICE_URL:-}
hostport=${hostport#*://}; hostport=${hostport%%/*}
case $hostport in *\]) ;; *:*) port=${hostport##*:} ;; esac
prefix=${JUPYTERHUB_SERVICE_PREFIX:-/}
case $prefix in /*) ;; *) prefix=/$prefix ;; esac
case $prefix in */) ;; *) prefix=$prefix/ ;; esac
mkdir -p "/www$prefix"
echo "<html><body>berth tiny server ${JUPYTERHUB_USER:-}</body></html>" >"/www${prefix}index.html"
# ${prefix}api is a plain file: busybox httpd answers a directory URL without a trailing slash
# with a redirect, and we want GET ${prefix}api to be 200 like Jupyter's /api.
echo '{"version": "tiny"}' >"/www${prefix}api"
echo "tiny: serving ${prefix} on 0.0.0.0:$port"
httpd -f -p "0.0.0.0:$port" -h /www &
pid=$!
trap 'kill $pid 2>/dev/null; exit 0' TERM INT
wait $pid
EOF
)
TINY_CHANGES=(
    'CMD ["/bin/sh", "/start.sh"]'
    'ENV PATH=/bin'
    'EXPOSE 8888'
    'LABEL berth.test=1'
)

build_tiny() {
    local root=$TMP/tiny app args=()
    mkdir -p "$root/bin" "$root/www" "$root/tmp" "$root/etc"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    for app in $(/bin/busybox --list); do [ "$app" = busybox ] || ln -s busybox "$root/bin/$app"; done
    printf '%s\n' "$TINY_START" >"$root/start.sh"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    for app in "${TINY_CHANGES[@]}" "LABEL berth.test.recipe=$1"; do args+=(--change "$app"); done
    tar --numeric-owner --owner=0 --group=0 -C "$root" -cf - . |
        docker import "${args[@]}" - "$TINY_TAG" >>"$LOG" 2>&1 || die "docker import of $TINY_TAG failed (see $LOG)"
}

verify_tiny() {
    local out rc=0 cid port u
    out=$(docker run --rm -e TINY_FAIL=1 "$TINY_TAG" 2>&1) || rc=$?
    [ "$rc" = 3 ] && [[ $out == *"tiny: failing on purpose"* ]] || die "tiny: TINY_FAIL=1 gave rc=$rc: $out"
    cid=$(docker run -d --label "berth.test.verify=$$" -p 127.0.0.1::8888 \
        -e JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/user/x/ -e JUPYTERHUB_SERVICE_PREFIX=/user/x/ "$TINY_TAG")
    port=$(published_port "$cid")
    for u in /user/x/ /user/x/api; do
        wait_200 "http://127.0.0.1:$port$u" 10 || die "tiny: GET $u gave $(http_code "http://127.0.0.1:$port$u"), not 200"
    done
    docker rm -f "$cid" >/dev/null
}

# ---------------------------------------------------------------- berth-test/singleuser
SINGLEUSER_CHANGES=(
    'ENTRYPOINT ["/usr/bin/tini", "-g", "--"]'
    'CMD ["jupyterhub-singleuser"]'
    'USER jovyan'
    'WORKDIR /home/jovyan'
    'ENV HOME=/home/jovyan'
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV LANG=C.UTF-8'
    'ENV SHELL=/bin/bash'
    'EXPOSE 8888'
    'LABEL berth.test=1'
)

build_singleuser() {
    local suite tar=$TMP/singleuser.tar c args=()
    [ -r "$APT_SOURCES" ] || die "$APT_SOURCES not found: mmdebstrap needs the machine's apt sources"
    suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
    # Recommends off and docs/man/locales not unpacked keep the image lean; mmdebstrap already
    # empties apt's cache and lists at the end. jovyan: uid 1000, gid 100 (users) like docker-stacks.
    mmdebstrap --variant=minbase \
        --include=jupyterhub,python3-notebook,python3-ipykernel,ca-certificates,tini \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook='chroot "$1" useradd --uid 1000 --gid 100 --create-home --home-dir /home/jovyan --shell /bin/bash jovyan' \
        --customize-hook='rm -rf "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/cache/debconf/*-old' \
        "$suite" "$tar" "$APT_SOURCES" >>"$LOG" 2>&1 || die "mmdebstrap failed (see $LOG): $(tail -n1 "$LOG")"
    for c in "${SINGLEUSER_CHANGES[@]}" "LABEL berth.test.recipe=$1"; do args+=(--change "$c"); done
    docker import "${args[@]}" "$tar" "$SINGLEUSER_TAG" >>"$LOG" 2>&1 || die "docker import of $SINGLEUSER_TAG failed (see $LOG)"
}

# A hub stand-in, run inside the container for verification: answers every request with 200 and
# the version header jupyterhub-singleuser checks at startup.
FAKE_HUB='
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def ok(self):
        body = b"{\"version\": \"3.0.0\"}"
        self.send_response(200)
        self.send_header("X-JupyterHub-Version", "3.0.0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = ok
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 8081), H).serve_forever()
'
# Start a real kernel and run code in it. os._exit skips jupyter_client's noisy __del__ at shutdown.
RUN_KERNEL='
import os
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
out = []
kc.execute_interactive("print(6 * 7)", timeout=60,
    output_hook=lambda m: out.append(m["content"].get("text", "")))
kc.stop_channels(); km.shutdown_kernel(now=True)
print("kernel said", "".join(out).strip(), flush=True)
os._exit(0)
'

verify_singleuser() {
    local out cid port
    out=$(docker run --rm -e JUPYTERHUB_API_TOKEN=x "$SINGLEUSER_TAG" jupyterhub-singleuser --version 2>&1 | tail -n1) || true
    [[ $out == 3.* ]] || die "singleuser: jupyterhub-singleuser --version said: $out"
    say "singleuser: jupyterhub-singleuser $out"
    out=$(docker run --rm "$SINGLEUSER_TAG" python3 -c "$RUN_KERNEL" 2>&1 | tail -n1) || true
    [ "$out" = "kernel said 42" ] || die "singleuser: ipykernel check said: $out"
    say "singleuser: ipykernel ran code ($out)"
    # Start the server as a spawner would (ip/port from JUPYTERHUB_SERVICE_URL, notebook 6 mode),
    # with a fake hub inside the container, and reach it through a published port.
    cid=$(docker run -d --label "berth.test.verify=$$" -p 127.0.0.1::8888 -e FAKE_HUB="$FAKE_HUB" \
        -e JUPYTERHUB_API_TOKEN=x -e JUPYTERHUB_API_URL=http://127.0.0.1:8081/hub/api \
        -e JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/user/x/ -e JUPYTERHUB_SERVICE_PREFIX=/user/x/ \
        -e JUPYTERHUB_BASE_URL=/ -e JUPYTERHUB_USER=x -e JUPYTERHUB_CLIENT_ID=jupyterhub-user-x \
        -e JUPYTERHUB_OAUTH_CALLBACK_URL=/user/x/oauth_callback \
        "$SINGLEUSER_TAG" sh -c 'python3 -c "$FAKE_HUB" & exec jupyterhub-singleuser')
    port=$(published_port "$cid")
    if ! wait_200 "http://127.0.0.1:$port/user/x/api" 60; then
        docker logs "$cid" 2>&1 | tail -n 20 >&2
        die "singleuser: GET /user/x/api never answered 200 (server log above)"
    fi
    say "singleuser: server answered on 0.0.0.0:8888/user/x/ ($(curl -s "http://127.0.0.1:$port/user/x/api"))"
    docker rm -f "$cid" >/dev/null
}

# ---------------------------------------------------------------- main
BUILT=()
step "packages" ensure_packages
pick_client
step "engine" ensure_engine
step "$TINY_TAG" build_if_needed "$TINY_TAG" \
    "$(recipe_hash "$TINY_START" "${TINY_CHANGES[@]}" "$(declare -f build_tiny)")" build_tiny verify_tiny
step "$SINGLEUSER_TAG" build_if_needed "$SINGLEUSER_TAG" \
    "$(recipe_hash "${SINGLEUSER_CHANGES[@]}" "$(declare -f build_singleuser)")" build_singleuser verify_singleuser
say "OK in $(since "$T_START"): engine $(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})') via $DOCKER${DOCKER_API_VERSION:+ DOCKER_API_VERSION=$DOCKER_API_VERSION}; $(IFS=,; echo "${BUILT[*]}" | sed 's/,/, /g')"
