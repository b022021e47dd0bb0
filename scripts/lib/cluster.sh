# shellcheck shell=bash
# Starts and stops the pieces of a rookery swarm on loopback: opentracker, nginx serving the
# repository, `rookery seed` and mount daemons. Sourced by the demo, the integration tests and the
# benchmarks. Everything started here is recorded and stopped by rk_cleanup, which rk_init installs
# as an EXIT trap: no process or FUSE mount outlives the script, even when it fails. Its work
# directory goes too, unless RK_KEEP_WORK is set to something other than 0 (to read the logs).
#
#   rk_init                      make $RK_WORK (temp dir) and install the cleanup trap
#   rk_free_port                 print a free TCP port on 127.0.0.1
#   rk_start_tracker REPO        opentracker on 127.0.0.1, admitting REPO/tracker/whitelist; sets
#                                RK_TRACKER_URL and RK_TRACKER_PIDFILE
#   rk_start_nginx REPO [CONF]   nginx serving REPO at http://127.0.0.1:PORT/rookery/ (plus the server
#                                config snippet CONF); sets RK_CATALOG_URL, RK_NGINX_PORT, RK_NGINX_PID
#   rk_start_seeder REPO [ARGS]  rookery seed on a free port
#   rk_start_mount NAME MNT CATALOG [ARGS]  a mount daemon with cache $RK_WORK/NAME-cache;
#                                waits until MNT is mounted; log in $RK_WORK/NAME.log; reads
#                                fail after RK_MOUNT_READ_TIMEOUT s (120) unless ARGS say --read-timeout
#   rk_wait_takeover SUP OLD CACHE  wait (30 s) until a serving process other than OLD answers on
#                                CACHE's control socket; prints its pid
#   rk_server_pid SUPERVISOR_PID the mount's serving process (the supervisor's child; for A/B runs
#                                against older binaries, the daemon itself)
#   rk_tmpfs DIR SIZE            a tmpfs of SIZE (e.g. 20m) at DIR, unmounted by rk_cleanup
#   rk_start_systemd UNITS TARGET [NSPAWN_ARGS]  a systemd (PID 1 of a container sharing this host's network)
#                                booting TARGET from the unit directory UNITS; sets RK_SYSTEMD_PID
#                                (its pid here); rk_systemctl ARGS runs systemctl against it
#   rk_start_systemd_mount NAME MNT CATALOG [ARGS]  the packaged rookery-mount.service (a drop-in
#                                for MNT, cache $RK_WORK/NAME-cache, log $RK_WORK/NAME.log, ARGS)
#                                run by such a systemd, started and ready; rk_in_mount CMD runs CMD
#                                where its mount is visible; rk_unit_server_pid prints its process

RK_BIN=${RK_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/rookery}
RK_PIDS=()
RK_MOUNTS=()
RK_TMPFS=()
RK_CONTAINERS=()
RK_ON_EXIT=()  # commands rk_cleanup runs first, e.g. removing a package a test installed

rk_log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# For benchmarks: checks root, builds, makes the work directory, and creates the results directory
# DIR, setting RK_OUT to its absolute path. rk_bench_init DIR WHY_ROOT
rk_bench_init() {
  [[ $(id -u) -eq 0 ]] || { echo "needs root ($2)" >&2; exit 1; }
  # A fresh clone: the packages benchmarks need, and a build directory configured before it is built.
  local root build
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  build=$(dirname "$RK_BIN")
  bash "$root/scripts/setup.sh" >/dev/null
  if [[ $build == "$root/build" && ! -f $build/CMakeCache.txt ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  # A binary elsewhere (RK_BIN) is built only if it lives in a build directory.
  [[ ! -f $build/CMakeCache.txt ]] || cmake --build "$build" -j2 >/dev/null
  mkdir -p "$1"
  RK_OUT=$(cd "$1" && pwd)
  rk_init
}

rk_init() {
  RK_WORK=$(mktemp -d "${TMPDIR:-/tmp}/rookery.XXXXXX")
  trap rk_cleanup EXIT
  trap 'exit 130' INT TERM
}

rk_cleanup() {
  local rc=$?
  set +e
  local m pid hook
  for hook in "${RK_ON_EXIT[@]}"; do eval "$hook"; done
  for m in "${RK_MOUNTS[@]}"; do
    grep -qs " $m fuse" /proc/mounts && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
  done
  for pid in "${RK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  local deadline=$((SECONDS + 15))
  for pid in "${RK_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  for m in "${RK_MOUNTS[@]}"; do
    grep -qs " $m fuse" /proc/mounts && umount -l "$m" 2>/dev/null
  done
  for m in "${RK_TMPFS[@]}"; do umount -l "$m" 2>/dev/null; done
  for pid in "${RK_CONTAINERS[@]}"; do  # a container's init outlives a killed systemd-nspawn
    kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; rk_log "killed container init $pid"; }
  done
  if [[ ${RK_KEEP_WORK:-0} != 0 ]]; then rk_log "kept $RK_WORK"; else rm -rf "$RK_WORK"; fi
  return $rc
}

rk_tmpfs() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0700" rookery-test "$1"
  RK_TMPFS+=("$1")
}

rk_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until COMMAND succeeds, at most SECONDS. rk_wait_for SECONDS COMMAND...
rk_wait_for() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

rk_start_tracker() {
  local repo=$1 port
  port=$(rk_free_port)
  mkdir -p "$repo/tracker"
  touch "$repo/tracker/whitelist"
  chmod 755 "$repo/tracker"
  chmod 644 "$repo/tracker/whitelist"
  # Debian's opentracker admits only whitelisted info-hashes; it chroots into -d and drops to nobody.
  opentracker -i 127.0.0.1 -p "$port" -P "$port" -d "$repo/tracker" -w whitelist \
    >"$RK_WORK/opentracker.log" 2>&1 &
  local pid=$!
  RK_PIDS+=("$pid")
  echo "$pid" >"$RK_WORK/opentracker.pid"
  RK_TRACKER_PIDFILE=$RK_WORK/opentracker.pid
  RK_TRACKER_URL=http://127.0.0.1:$port/announce
  rk_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || { rk_log "opentracker did not start"; return 1; }
}

# The nginx config serving REPO at http://LISTEN/rookery/ (plus the server snippet EXTRA), with
# state under DIR. rk_nginx_conf DIR LISTEN REPO [EXTRA]
rk_nginx_conf() {
  local dir=$1 listen=$2 repo=$3 extra=${4:-}
  mkdir -p "$dir"
  # `user root;`: workers otherwise run as www-data and cannot read a 0700 temp directory.
  cat >"$dir/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp;
  scgi_temp_path $dir/tmp;
  sendfile on;
  types { application/json json; application/x-bittorrent torrent; }
  default_type application/octet-stream;
  server {
    listen $listen;
    location /rookery/ { alias $repo/; }
    $extra
  }
}
CONF
}

rk_start_nginx() {
  local repo=$1 extra=${2:-} port
  port=$(rk_free_port)
  rk_nginx_conf "$RK_WORK/nginx" "127.0.0.1:$port" "$repo" "$extra"
  nginx -c "$RK_WORK/nginx/nginx.conf" -e "$RK_WORK/nginx/error.log" >"$RK_WORK/nginx/stdout.log" 2>&1 &
  RK_NGINX_PID=$!
  RK_PIDS+=("$RK_NGINX_PID")
  RK_NGINX_PORT=$port
  RK_CATALOG_URL=http://127.0.0.1:$port/rookery/
  rk_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || { rk_log "nginx did not start"; return 1; }
}

rk_start_seeder() {
  local repo=$1
  shift
  "$RK_BIN" seed --repo "$repo" --listen "127.0.0.1:$(rk_free_port)" --poll-interval 500 "$@" \
    >"$RK_WORK/seeder.log" 2>&1 &
  RK_SEEDER_PID=$!
  RK_PIDS+=("$RK_SEEDER_PID")
}

rk_server_pid() {  # (a binary from before the supervisor serves in the process itself)
  local child
  child=$(pgrep -P "$1" -x rookery | head -1)
  echo "${child:-$1}"
}

rk_wait_takeover() {
  local sup=$1 old=$2 cache=$3
  rk_wait_for 30 bash -c "p=\$(pgrep -P $sup -x rookery | head -1); [[ -n \$p && \$p != $old ]] &&
    '$RK_BIN' status --cache '$cache' >/dev/null" || return 1
  rk_server_pid "$sup"
}

rk_is_mounted() { grep -qs " $1 fuse" /proc/mounts; }

rk_start_mount() {
  local name=$1 mnt=$2 catalog=$3
  shift 3
  mkdir -p "$mnt" 2>/dev/null || true  # a stale mount answers ENOTCONN: the daemon recovers it
  RK_MOUNTS+=("$mnt")
  : >"$RK_WORK/$name.log"  # truncated here, not by the child: the wait below must not see an old log
  # Reads wait at most this long unless the caller says (--read-timeout): a read that would hang
  # fails instead, and the script's trap still cleans up (a test runner's own timeout kills hard).
  local bounded=(--read-timeout "${RK_MOUNT_READ_TIMEOUT:-120}")
  [[ " $* " == *" --read-timeout "* ]] && bounded=()
  "$RK_BIN" mount "$mnt" --catalog "$catalog" --cache "$RK_WORK/$name-cache" \
    --listen "127.0.0.1:$(rk_free_port)" "${bounded[@]}" "$@" >>"$RK_WORK/$name.log" 2>&1 &
  local pid=$!
  RK_PIDS+=("$pid")
  printf -v "RK_PID_${name//-/_}" '%s' "$pid"
  rk_wait_for 15 grep -q "mounted at" "$RK_WORK/$name.log" ||
    { rk_log "mount $name did not come up:"; cat "$RK_WORK/$name.log" >&2; return 1; }
}

# Field of one release in a daemon's status.json: rk_status NAME VERSION FIELD
rk_status() {
  python3 - "$RK_WORK/$1-cache/status.json" "$2" "$3" <<'PY'
import json, sys
path, version, field = sys.argv[1:]
try:
    releases = json.load(open(path))["releases"]
except (OSError, ValueError, KeyError):
    print(""); sys.exit(0)
print(next((str(r[field]) for r in releases if r["version"] == version), ""))
PY
}

# A real systemd as PID 1 of a throwaway container (systemd-nspawn --volatile=yes: a tmpfs root
# with this host's /usr read-only, an empty /etc but for UNITS at /etc/systemd/system; the host's
# network, so it reaches the loopback swarm; /dev/fuse and $RK_WORK bound in at the same paths, and
# the rookery binary's directory read-only).
# Nothing it writes outlives it but what it writes under $RK_WORK. The boot-time /tmp cleaner is
# masked: it would empty $RK_WORK, which is bound in under /tmp.
rk_start_systemd() {
  local units=$1 target=$2
  shift 2  # further systemd-nspawn options, e.g. --bind-ro=DIR
  command -v systemd-nspawn >/dev/null || { rk_log "systemd-nspawn missing (package systemd-container)"; return 1; }
  ln -sf /dev/null "$units/systemd-tmpfiles-setup.service"
  ln -sf /dev/null "$units/systemd-tmpfiles-clean.timer"
  systemd-nspawn -D / --volatile=yes --register=no --keep-unit -q --bind=/dev/fuse --bind="$RK_WORK" \
    --bind-ro="$units:/etc/systemd/system" "$@" -b -- "systemd.unit=$target" systemd.firstboot=off \
    >"$RK_WORK/systemd.log" 2>&1 </dev/null &
  RK_PIDS+=("$!")
  local nspawn=$!
  rk_wait_for 20 bash -c "pgrep -P $nspawn -x systemd >/dev/null" || { rk_log "systemd did not start"; return 1; }
  RK_SYSTEMD_PID=$(pgrep -P "$nspawn" -x systemd)
  RK_CONTAINERS+=("$RK_SYSTEMD_PID")
  rk_wait_for 30 rk_systemctl is-active -q "$target" || { rk_log "systemd did not reach $target"; return 1; }
}

rk_systemctl() { nsenter -t "$RK_SYSTEMD_PID" -m -p -- systemctl "$@"; }

rk_start_systemd_mount() {
  local name=$1 mnt=$2 catalog=$3
  shift 3
  local units=$RK_WORK/units bin
  bin=$(readlink -f "$RK_BIN")
  mkdir -p "$units/rookery-mount.service.d" "$mnt"
  cp "$(dirname "${BASH_SOURCE[0]}")/../../packaging/systemd/rookery-mount.service" "$units/"
  cat >"$units/rookery-mount.service.d/paths.conf" <<CONF
[Service]
EnvironmentFile=
ExecStart=
ExecStart=$bin mount $mnt --holder systemd --catalog $catalog --cache $RK_WORK/$name-cache --listen 127.0.0.1:$(rk_free_port) $*
ExecReload=
ExecReload=$bin upgrade --no-wait --cache $RK_WORK/$name-cache
StandardOutput=append:$RK_WORK/$name.log
StandardError=append:$RK_WORK/$name.log
CONF
  printf '[Unit]\nRequires=basic.target\nAfter=basic.target\n' >"$units/rookery-host.target"
  local bin_dir
  bin_dir=$(dirname "$bin")
  [[ $bin_dir == "$RK_WORK"* ]] && bin_dir=""  # bound in already
  rk_start_systemd "$units" rookery-host.target ${bin_dir:+"--bind-ro=$bin_dir"} || return 1
  RK_UNIT_MOUNT=$mnt
  RK_UNIT_BIN=$bin
  timeout -s KILL 60 nsenter -t "$RK_SYSTEMD_PID" -m -p -- systemctl start rookery-mount ||
    { rk_log "rookery-mount.service did not start:"; cat "$RK_WORK/$name.log" >&2; return 1; }
}

rk_in_mount() { nsenter -t "$RK_SYSTEMD_PID" -m -- "$@"; }
rk_unit_server_pid() { pgrep -xf "$RK_UNIT_BIN mount $RK_UNIT_MOUNT .*" | head -1; }
