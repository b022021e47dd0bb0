# shellcheck shell=bash
# The swarm lab: N+1 hosts as network namespaces on one bridge, every host link shaped with tc tbf
# in both directions (this kernel has tbf but not netem, so latency stays sub-millisecond). Host 0
# is the origin. The bridge lives in its own namespace, the root namespace is untouched, and no
# namespace has a route out: traffic stays on the lab's own addresses (10.77.0.0/24). Sourced by
# the benchmarks after scripts/lib/cluster.sh and rk_init (or rk_bench_init); lab_up replaces
# rk_init's EXIT trap with one that runs lab_down and then rk_cleanup, so a script that builds a
# lab writes no trap of its own.
#
#   lab_up N MBIT        hosts 0..N (0 = origin), each link MBIT Mbit/s up and down, every host
#                        knowing every other's MAC (lab_static_neighbours); installs the
#                        teardown trap (again on every call: harmless)
#   lab_ip I             address of host I
#   lab_rate MBIT        reshape every link of the running lab to MBIT Mbit/s
#   lab_exec I CMD...    run CMD inside host I (a function: to background a daemon and keep its
#                        pid, call `ip netns exec "$(lab_ns I)" CMD &` directly)
#   lab_origin REPO      opentracker (whitelist in REPO/tracker) and nginx serving REPO on host 0
#                        (on host N+1 with LAB_CATALOG_HOST=1);
#                        sets LAB_TRACKER_URL, LAB_TRACKER_PIDFILE, LAB_CATALOG_URL
#   lab_publish SRC REPO VERSION PIECE_BYTES [ARGS]   publish SRC as VERSION (the tracker is told)
#   lab_rtt_ms I J       round-trip time from host I to host J (needs lab_origin's nginx on J)
#   lab_piece_size REPO VERSION   the piece size VERSION was published with
#   lab_seed REPO        `rookery seed` on host 0; sets LAB_SEEDER_PID
#   lab_start_mount I MNT CACHE LOG [ARGS] [-- CMD...]
#                        a mount daemon on host I: `rookery mount MNT --catalog $LAB_CATALOG_URL
#                        --cache CACHE --listen <host I>:6881 ARGS`, output to LOG. Without CMD it
#                        runs in the background (pid in LAB_MOUNT_PID and RK_PIDS) and the call
#                        returns at once. The FUSE mount exists only inside the daemon's own
#                        `ip netns exec` (its own mount namespace), so to read through it pass CMD:
#                        in that same invocation, wait until MNT is mounted (at most 10 s), run
#                        CMD, then stop the daemon; returns the daemon's exit status. ARGS must
#                        not contain `--`.
#   lab_sent I           bytes host I has sent so far (counted on the bridge side of its link)
#   lab_received I...    bytes hosts I... have received so far, summed (same counters)
#   lab_rates N          until killed (or the lab or script is gone), every 0.5 s: seconds, MB/s sent by host 0, by hosts 1..N,
#                        and received by hosts 1..N
#   lab_down             delete every namespace of this lab (also done on exit)
# LAB_MTU (environment, default 1500) sets the MTU of every link and of the bridge.
# LAB_QUEUE_MS (environment, default 100) bounds how long a frame may wait in a link's shaper
# (tbf's latency): the depth of every link's queue.
# LAB_SYSCTL (environment, default none): space-separated KEY=VALUE network sysctls set in every
# host's namespace (e.g. "net.ipv4.tcp_congestion_control=cubic"), for measurements of the hosts'
# own TCP stack; the root namespace is untouched.
# LAB_CATALOG_HOST=1 (environment) adds host N+1, on a link like every other's, and lab_origin runs
# nginx (the catalog) there instead of on the origin: the deployment README.md recommends at fleet
# scale, where the catalog's requests do not queue behind the seeder's pieces. The benchmarks count
# neither its bytes nor its CPU as the origin's.

LAB_PREFIX=rklab$$
LAB_HOSTS=0

lab_ip() { echo "10.77.0.$(($1 + 1))"; }
lab_ns() { echo "$LAB_PREFIX-h$1"; }
lab_exec() {
  local i=$1
  shift
  ip netns exec "$(lab_ns "$i")" "$@"
}

lab_shape() {  # lab_shape NS DEV MBIT
  # burst: enough for a few ms at line rate, at least 64 KiB so TCP segments pass whole.
  local burst=$(($3 * 1000000 / 8 / 250))
  ((burst < 65536)) && burst=65536
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "${3}mbit" burst "$burst" latency "${LAB_QUEUE_MS:-100}ms"
}

lab_up() {
  local n=$1 mbit=$2 i
  [[ -n ${RK_WORK:-} ]] || { rk_log "lab_up: call rk_init (or rk_bench_init) first"; return 1; }
  # The lab first: killing a host's processes also ends the FUSE mounts inside its `ip netns exec`
  # invocations. `|| true`: errexit still holds in the trap, and a failing command in lab_down
  # (a process that exits before it is killed) must not skip rk_cleanup. INT and TERM exit through
  # this trap (rk_init).
  trap 'lab_down || true; rk_cleanup' EXIT
  LAB_HOSTS=$n
  ((${LAB_CATALOG_HOST:-0})) && LAB_HOSTS=$((n + 1))
  ip netns add "$LAB_PREFIX-br"
  # A switch does not run the firewall on every frame it forwards. With br_netfilter loaded (it is
  # here) the bridge passes each one through iptables' hooks: 4% of both cores at 64 hosts.
  ip netns exec "$LAB_PREFIX-br" sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 \
    net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
  ip -n "$LAB_PREFIX-br" link add br0 type bridge
  ip -n "$LAB_PREFIX-br" link set br0 up
  for ((i = 0; i <= LAB_HOSTS; i++)); do
    local ns
    ns=$(lab_ns "$i")
    ip netns add "$ns"
    ip link add "rkv$$h$i" netns "$ns" type veth peer name "rkb$$h$i" netns "$LAB_PREFIX-br"
    ip -n "$ns" link set "rkv$$h$i" name eth0
    ip -n "$ns" addr add "$(lab_ip "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 mtu "${LAB_MTU:-1500}"
    # shellcheck disable=SC2086  # LAB_SYSCTL: words
    [[ -z ${LAB_SYSCTL:-} ]] || ip netns exec "$ns" sysctl -qw $LAB_SYSCTL
    ip -n "$LAB_PREFIX-br" link set "rkb$$h$i" mtu "${LAB_MTU:-1500}"
    ip -n "$LAB_PREFIX-br" link set "rkb$$h$i" master br0
    ip -n "$LAB_PREFIX-br" link set "rkb$$h$i" up
    lab_shape "$ns" eth0 "$mbit"                      # host upload
    lab_shape "$LAB_PREFIX-br" "rkb$$h$i" "$mbit"     # host download
  done
  lab_static_neighbours "$LAB_HOSTS"
}

# Every host knows every other's MAC address from the start. Otherwise a swarm joining at once
# sends N x N ARP broadcasts, which the bridge floods onto every host's shaped link: at 64 hosts and
# 10 Mbit/s they overflow the tbf queues, resolution fails, and TCP connects time out for seconds
# (measured: a host's 49 connection attempts in its first 2 s all timed out). A real switch
# carries such broadcasts at line rate; the emulator would measure its own artefact.
lab_static_neighbours() {
  local n=$1 i j macs=()
  for ((i = 0; i <= n; i++)); do macs[i]=$(ip -n "$(lab_ns "$i")" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2); done
  for ((i = 0; i <= n; i++)); do
    for ((j = 0; j <= n; j++)); do
      ((i == j)) || echo "neigh replace $(lab_ip "$j") lladdr ${macs[j]} dev eth0 nud permanent"
    done | ip -n "$(lab_ns "$i")" -batch -
  done
}

lab_rate() {
  local i
  for ((i = 0; i <= LAB_HOSTS; i++)); do
    lab_shape "$(lab_ns "$i")" eth0 "$1"
    lab_shape "$LAB_PREFIX-br" "rkb$$h$i" "$1"
  done
}

lab_origin() {
  local repo=$1 o
  o=$(lab_ip 0)
  mkdir -p "$repo/tracker"
  touch "$repo/tracker/whitelist"
  chmod 755 "$repo/tracker"
  ip netns exec "$(lab_ns 0)" opentracker -i "$o" -p 6969 -P 6969 -d "$repo/tracker" -w whitelist \
    >"$repo.tracker.log" 2>&1 &
  echo "$!" >"$repo.tracker.pid"
  RK_PIDS+=("$!")
  LAB_TRACKER_PIDFILE=$repo.tracker.pid
  LAB_TRACKER_URL=http://$o:6969/announce
  local catalog=0
  ((${LAB_CATALOG_HOST:-0})) && catalog=$LAB_HOSTS
  rk_nginx_conf "$repo.nginx" "$(lab_ip "$catalog"):8080" "$repo"
  ip netns exec "$(lab_ns "$catalog")" nginx -c "$repo.nginx/nginx.conf" -e "$repo.nginx/error.log" >/dev/null 2>&1 &
  RK_PIDS+=("$!")
  LAB_CATALOG_URL=http://$(lab_ip "$catalog"):8080/rookery/
  rk_wait_for 10 lab_exec "$catalog" curl -s -o /dev/null "$LAB_CATALOG_URL" || { rk_log "lab origin did not start"; return 1; }
}

lab_publish() {
  local src=$1 repo=$2 version=$3 piece=$4
  shift 4
  "$RK_BIN" --log-level warn publish "$src" --repo "$repo" --version "$version" --piece-size "$piece" \
    --tracker "$LAB_TRACKER_URL" --tracker-pid-file "$LAB_TRACKER_PIDFILE" "$@" >/dev/null
}

# Round-trip time from host I to host J in ms: the median TCP connect to J's nginx (one SYN/SYN-ACK
# exchange; the lab has no ping). lab_rtt_ms I J
lab_rtt_ms() {
  lab_exec "$1" /usr/bin/python3 - "$(lab_ip "$2")" <<'PY'
import socket, statistics, sys, time
samples = []
for _ in range(20):
    s = socket.socket()
    start = time.perf_counter()
    s.connect((sys.argv[1], 8080))
    samples.append((time.perf_counter() - start) * 1000)
    s.close()
    time.sleep(0.05)
print(f"{statistics.median(samples):.3f}")
PY
}

# The piece size VERSION was published with. lab_piece_size REPO VERSION
lab_piece_size() {
  python3 -c 'import json, sys; print(next(r["piece_size"] for r in json.load(open(sys.argv[1]))["releases"] if r["version"] == sys.argv[2]))' \
    "$1/index.json" "$2"
}

lab_seed() {
  # shellcheck disable=SC2086  # RK_SEED_ARGS: extra `rookery seed` options, split on spaces
  ip netns exec "$(lab_ns 0)" "$RK_BIN" seed --repo "$1" --listen "$(lab_ip 0):6881" ${RK_SEED_ARGS:-} >"$1.seed.log" 2>&1 &
  LAB_SEEDER_PID=$!
  RK_PIDS+=("$!")
}

lab_start_mount() {
  local i=$1 mnt=$2 cache=$3 log=$4
  shift 4
  local daemon=("$RK_BIN" mount "$mnt" --catalog "$LAB_CATALOG_URL" --cache "$cache" --listen "$(lab_ip "$i"):6881")
  while (($#)) && [[ $1 != -- ]]; do
    daemon+=("$1")
    shift
  done
  mkdir -p "$mnt"
  if (($# == 0)); then
    ip netns exec "$(lab_ns "$i")" "${daemon[@]}" >"$log" 2>&1 &
    LAB_MOUNT_PID=$!
    RK_PIDS+=("$!")
    return
  fi
  shift  # --
  # shellcheck disable=SC2016  # expanded by the inner shell
  ip netns exec "$(lab_ns "$i")" bash -c '
    log=$1 n=$2
    shift 2
    "${@:1:n}" >"$log" 2>&1 &
    daemon=$!
    shift "$n"
    for i in $(seq 100); do grep -qs "mounted at" "$log" && break; sleep 0.1; done
    "$@"
    kill -TERM $daemon; wait $daemon
  ' lab_start_mount "$log" "${#daemon[@]}" "${daemon[@]}" "$@"
}

lab_sent() {
  ip netns exec "$LAB_PREFIX-br" cat /proc/net/dev | awk -v dev="rkb$$h$1:" '$1 == dev {print $2}'
}

lab_received() {
  local devs=" $*"
  ip netns exec "$LAB_PREFIX-br" cat /proc/net/dev |
    awk -v devs="${devs// / rkb$$h}" 'BEGIN {n = split(devs, d, " "); for (i = 1; i <= n; i++) want[d[i] ":"] = 1}
                                     $1 in want {total += $10} END {printf "%.0f\n", total}'
}

lab_rates() {
  local n=$1
  # Ends by itself too, should only its subshell be killed: once the script or the lab is gone,
  # or after an hour.
  local until=$((SECONDS + 3600))
  while ((SECONDS < until)) && kill -0 $$ 2>/dev/null && sleep 0.5; do
    echo "T $(date +%s.%N)"
    ip netns exec "$LAB_PREFIX-br" cat /proc/net/dev || break
  done | awk -v n="$n" -v br="rkb$$h" '
    $1 == "T" { if (seen) report(); tprev = t; t = $2; if (t0 == "") t0 = t; seen = 1; next }
    index($1, br) == 1 { h = substr($1, length(br) + 1); sub(":", "", h); sent[h] = $2; got[h] = $10 }
    function report(   dt, o, up, down, i) {
      dt = t - tprev
      if (prev) {
        o = (sent[0] - psent[0]) / dt / 1e6
        for (i = 1; i <= n; i++) { up += (sent[i] - psent[i]) / dt / 1e6; down += (got[i] - pgot[i]) / dt / 1e6 }
        printf "%.1f %.2f %.2f %.2f\n", t - t0, o, up, down
        fflush()
      }
      for (i = 0; i <= n; i++) { psent[i] = sent[i]; pgot[i] = got[i] }
      prev = 1
    }'
}

lab_down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$LAB_PREFIX-"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
}
