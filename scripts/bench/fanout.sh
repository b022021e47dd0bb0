#!/usr/bin/env bash
# Fan-out: N app hosts each need a complete release of F MiB, all at once. Runs in the swarm lab
# (scripts/lab/lab.sh: network namespaces, every link shaped to the rate given for that N), one lab
# per host count, and measures in it, one after another (--modes, in the order given):
#   floor    the lab's own floor: a TCP ring (scripts/bench/ring.c) where every host sends F to the
#            next host and receives F from the previous one at the same time, every link full both
#            ways; time until the last host has received F.
#   mesh     four fixed TCP flows per link (not in the default modes): every host sends F/4 to each
#            of 4 fixed peers (hosts i+1, i+2, i+4, i+8 mod N; needs N >= 16) and receives F/4 from
#            4, all at once; time until the last host has received its four quarters. A reference,
#            not a floor for a swarm: each host waits for its slowest quarter, which under BBR costs
#            up to 1.3x the ring, while a swarm takes more from whichever peer is fast.
#   http     every host downloads the release from the origin's nginx with curl, at once. Run only
#            when N*F/u is at most --http-max seconds; above, reported as N*F/u, "computed".
#   plain    BitTorrent as it is: a plain libtorrent 2.0.8 peer per host with libtorrent's default
#            settings (scripts/bench/plain_peer.cpp: only the listen address, and DHT, LSD, UPnP,
#            NAT-PMP off), all downloading the release's private torrent from the same origin
#            (`rookery seed` on host 0, opentracker) and seeding once done. libtorrent tries uTP
#            first and `rookery seed` speaks TCP only: each peer's first connection to the origin
#            times out (~3.5 s) before it retries over TCP.
#   plain-all  the same, but the origin is a plain libtorrent peer too (seeding the repository's
#            copy): BitTorrent as it is everywhere, without that stall. Not in the default modes.
#   rookery  a mount daemon per host (`--fetch background`), `rookery prefetch` on every host at once;
#            time until the last host has every piece verified.
#
#   scripts/bench/fanout.sh [--hosts "4 8 16" | "16:40 32:20 64:10"] [--size-mib 64] [--mbit 50]
#                           [--modes "floor http plain rookery" (also: mesh, plain-all)] [--skip-http]
#                           [--http-max 120] [--piece-size BYTES (default: publish's)]
#                           [--limit SECONDS] [--timeline] [--spread] [--late K:SECONDS] [--out DIR]
# --hosts: host counts; N:RATE gives that count its own link rate in Mbit/s (default --mbit). Keep
# N x rate <= ~640 Mbit/s, or the emulator saturates both cores (design.md, "Lab facts").
# --limit: seconds every transfer is given (default 10 x bound + 30 s); a mode whose hosts are not
# all done by then is reported with how many were. --skip-http = leave http out of --modes.
# --timeline writes DIR/fanout_timeline_N_MODE.txt: every 0.5 s, the MB/s leaving the origin,
# leaving all hosts and reaching all hosts (the lab bridge's counters).
# --spread runs the rookery mode's daemons and origin at --log-level debug and writes
# DIR/fanout_spread_N.txt (scripts/bench/piece_spread.py): per piece, the origin's first block to
# the first whole copy and each doubling of its holders; per second, the share of the hosts' links
# used. The logging costs a little CPU: keep it out of runs whose times are compared.
# --late K:SECONDS: in the rookery mode the last K hosts start their daemon and prefetch SECONDS
# after the others began (hosts joining late); their times count from the others' start, and their
# daemons' CPU counts in the machine's figure only.
# RK_DAEMON_ARGS adds options to the mount daemons.
#
# Prints a table per host count and mode (fleet_report.py: time until the last host, time / bound
# with bound = max(F/u, N*F/(u + N*u)), time / floor, the median host over the ring's median host
# (the ring's own last host can trail its median by a third under BBR with the lab's deep queues:
# BENCHMARKS.md, twenty-third session), the hosts' finish-time spread, bytes the origin sent / F,
# CPU-seconds per GiB delivered, machine busy %) and writes DIR/fanout.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS="4 8 16"
SIZE_MIB=64
MBIT=50
MODES="floor http plain rookery"
HTTP_MAX=120
PIECE=0  # publish's default
LIMIT=0  # 10 x bound + 30 s
OUT=bench-results
TIMELINE=0
SKIP_HTTP=0
SPREAD=0
LATE=0
LATE_S=0
source scripts/bench/fleet_lib.sh
while (($#)); do
  case $1 in
    --modes) MODES=$2; shift 2 ;;
    --skip-http) SKIP_HTTP=1; shift ;;
    --spread) SPREAD=1; shift ;;
    --late) LATE=${2%%:*} LATE_S=${2#*:}; shift 2 ;;
    --http-max) HTTP_MAX=$2; shift 2 ;;
    *) fleet_option "$@"; shift "$FLEET_SHIFT" ;;
  esac
done
((SKIP_HTTP)) && MODES=${MODES//http/}
for mode in $MODES; do
  [[ $mode == @(floor|mesh|http|plain|plain-all|rookery) ]] ||
    { echo "unknown mode $mode (floor, mesh, http, plain, plain-all, rookery)" >&2; exit 2; }
done
fleet_init "$OUT" fanout "$TIMELINE"

[[ " $MODES " == *" floor "* || " $MODES " == *" mesh "* ]] && gcc -O2 -pthread -o "$RK_WORK/ring" scripts/bench/ring.c
# shellcheck disable=SC2046  # pkg-config's flags: words
[[ " $MODES " == *" plain"* ]] &&
  g++ -O2 -std=c++20 -o "$RK_WORK/plain_peer" scripts/bench/plain_peer.cpp $(pkg-config --cflags --libs libtorrent-rasterbar)
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$SRC/blob.bin"

# Each mode below runs in the lab fleet_lab built (N, MBIT, REPO, F, BOUND_S) and gives its hosts
# $limit seconds.

run_floor() {
  ((N >= 2)) || { rk_log "floor: a ring needs 2 hosts"; return; }
  local run i pids=()
  run=$(fleet_run floor)
  for ((i = 1; i <= N; i++)); do
    ip netns exec "$(lab_ns "$i")" "$RK_WORK/ring" "$(lab_ip "$i")" 7000 "$(lab_ip $((i % N + 1)))" "$F" \
      "$run/go" "$run/$i.done" "$limit" 2>"$run/$i.log" &
    pids+=("$!")
  done
  RK_PIDS+=("${pids[@]}")
  sleep 1  # every host listening
  fleet_begin floor
  touch "$run/go"
  fleet_wait "$run" "$limit"
  fleet_end "$run"
  fleet_stop "${pids[@]}"
}

# Four fixed TCP flows per link: every host sends F/4 to each of 4 fixed peers (hosts i+1, i+2, i+4,
# i+8 mod N) and receives F/4 from 4, at once.
run_mesh() {
  ((N >= 16)) || { rk_log "mesh: needs 16 hosts or more"; return; }
  local run i k off pids=() part=$((F / 4)) offsets=(1 2 4 8)
  run=$(fleet_run mesh)
  mkdir -p "$run/part"
  for ((i = 1; i <= N; i++)); do
    # One process per host runs its four streams; the host is done when its four incoming ones are.
    (
      streams=()
      for k in 0 1 2 3; do
        off=${offsets[k]}
        ip netns exec "$(lab_ns "$i")" "$RK_WORK/ring" "$(lab_ip "$i")" $((7000 + k)) \
          "$(lab_ip $(((i - 1 + off) % N + 1)))" "$part" "$run/go" "$run/part/$i.$k" "$limit" 2>>"$run/$i.log" &
        streams+=("$!")
      done
      wait "${streams[@]}"
      (($(find "$run/part" -name "$i.*" | wc -l) == 4)) && sort -n "$run/part/$i".* | tail -n 1 >"$run/$i.done"
    ) &
    pids+=("$!")
  done
  RK_PIDS+=("${pids[@]}")
  sleep 1  # every host listening
  fleet_begin mesh
  touch "$run/go"
  fleet_wait "$run" "$limit"
  fleet_end "$run"
  fleet_stop "${pids[@]}"
}

run_http() {
  local run i pids=() expected
  expected=$(awk -v b="$BOUND_S" -v n="$N" 'BEGIN {print n * b}')
  if awk -v e="$expected" -v max="$HTTP_MAX" 'BEGIN {exit !(e > max)}'; then
    rk_log "http: N*F/u = ${expected} s is above --http-max $HTTP_MAX s: computed, not run"
    fleet_computed http "$expected"
    return
  fi
  local http_limit=$(((${expected%.*} + 1) * 2 + 30))
  run=$(fleet_run http)
  fleet_begin http
  for ((i = 1; i <= N; i++)); do
    (ip netns exec "$(lab_ns "$i")" curl -s --max-time "$http_limit" -o /dev/null "${LAB_CATALOG_URL}data/1.0/blob.bin" &&
      fleet_stamp "$run/$i.done") &
    pids+=("$!")
  done
  fleet_wait "$run" "$http_limit"
  fleet_end "$run"
  wait "${pids[@]}" || true  # each bounded by curl's --max-time
}

# run_plain MODE: plain peers from the origin `rookery seed` (plain) or a plain peer (plain-all).
run_plain() {
  local run i pids=() origin
  run=$(fleet_run "$1")
  if [[ $1 == plain-all ]]; then
    # Its save directory is the repository's data: it checks the files and seeds at once.
    ip netns exec "$(lab_ns 0)" "$RK_WORK/plain_peer" "$REPO/torrents/1.0.torrent" "$REPO/data" \
      "$(lab_ip 0):6881" "$run/origin.seeding" $((limit + 60)) >"$run/origin.log" 2>&1 &
    origin=$!
    RK_PIDS+=("$origin")
    rk_wait_for 30 test -e "$run/origin.seeding" || { rk_log "the plain origin did not seed"; return 1; }
  else
    fleet_seed
    origin=$FLEET_SEEDER
  fi
  for ((i = 1; i <= N; i++)); do
    mkdir -p "$run/save-$i"
    # The peer listens on the port the mount daemons use: a stale tracker entry of it then points
    # to the next mode's daemon on that host, not to a closed port.
    ip netns exec "$(lab_ns "$i")" "$RK_WORK/plain_peer" "$REPO/torrents/1.0.torrent" "$run/save-$i" \
      "$(lab_ip "$i"):6881" "$run/$i.done" $((limit + 30)) "$run/go" >"$run/$i.log" 2>&1 &
    pids+=("$!")
  done
  RK_PIDS+=("${pids[@]}")
  sleep 1  # every session listening
  fleet_begin "$1" "$origin" "${pids[@]}"
  touch "$run/go"
  fleet_wait "$run" "$limit"
  fleet_end "$run"
  fleet_stop "${pids[@]}" "$origin"  # SIGTERM: the peers announce "stopped" to the tracker
  rm -rf "$run"/save-*
}

# Hosts FIRST..LAST of run_rookery's run: a mount daemon each (pids appended to DAEMONS), back once
# all listen for prefetch.
start_daemons() {
  local i
  for ((i = $1; i <= $2; i++)); do
    # The FUSE mount lives in the daemon's own mount namespace; prefetch talks to the daemon
    # through the control socket in its cache directory.
    # shellcheck disable=SC2086  # RK_DAEMON_ARGS: words
    lab_start_mount "$i" "$run/mnt-$i" "$run/cache-$i" "$run/mount-$i.log" --fetch background ${RK_DAEMON_ARGS:-} "${debug[@]}"
    DAEMONS+=("$LAB_MOUNT_PID")
  done
  for ((i = $1; i <= $2; i++)); do rk_wait_for 20 test -S "$run/cache-$i/control.sock"; done
}

prefetch_hosts() {
  local i
  for ((i = $1; i <= $2; i++)); do
    (timeout "$limit" "$RK_BIN" prefetch 1.0 --cache "$run/cache-$i" >/dev/null 2>&1 && fleet_stamp "$run/$i.done") &
  done
}

run_rookery() {
  local run debug=() early=$((N - LATE))
  ((early >= 1)) || { rk_log "--late $LATE: needs fewer than $N hosts"; return 1; }
  DAEMONS=()
  run=$(fleet_run rookery)
  ((SPREAD)) && debug=(--log-level debug)
  RK_SEED_ARGS="${RK_SEED_ARGS:-} ${debug[*]}" fleet_seed
  start_daemons 1 "$early"
  sleep 1
  fleet_begin rookery "$FLEET_SEEDER" "${DAEMONS[@]}"
  prefetch_hosts 1 "$early"
  if ((LATE)); then
    sleep "$LATE_S"
    start_daemons $((early + 1)) "$N"
    prefetch_hosts $((early + 1)) "$N"
  fi
  fleet_wait "$run" "$limit"
  fleet_end "$run"
  fleet_stop "${DAEMONS[@]}" "$FLEET_SEEDER"
  rm -rf "$run"/cache-*
  if ((SPREAD)); then
    /usr/bin/python3 scripts/bench/piece_spread.py "$run" "$REPO.seed.log" "$N" "$MBIT" "$PIECE_USED" |
      tee "$FLEET_OUT/fanout_spread_$N.txt"
  fi
}

run_modes() {
  limit=$LIMIT
  ((limit > 0)) || limit=$(awk -v b="$BOUND_S" 'BEGIN {print int(10 * b + 30)}')
  for mode in $MODES; do
    case $mode in
      plain*) run_plain "$mode" ;;
      *) "run_$mode" ;;
    esac
  done
}
fleet_labs "$HOSTS" "$MBIT" "$SRC" "$PIECE" run_modes

/usr/bin/python3 - "$FLEET_RESULTS" "$SIZE_MIB" "$PIECE_USED" "$FLEET_OUT" <<'PY'
import math, statistics, sys
sys.path.insert(0, "scripts/bench")
from fleet_report import read_rows, num, time_cell, ratio_cell, spread_cells, busy_cell, plot
results, size_mib, piece, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = read_rows(results)
F = size_mib * 1048576
names = {"floor": "lab floor (TCP ring)", "mesh": "lab mesh (4 TCP flows per link)", "http": "HTTP from one server", "plain": "plain libtorrent",
         "plain-all": "plain libtorrent, plain origin", "rookery": "rookery"}
print(f"Fan-out of a {size_mib} MiB release (piece size {piece // 1024} KiB), every host at once\n")
print("| hosts N | link | mode | hosts done | bound | time (last host) | / bound | / floor | median / floor's median | host finish s: first / median / last | last / first | speedup over HTTP | origin sent (x F) | hosts received (x N*F) | CPU s/GiB, machine | CPU s/GiB, processes | machine busy |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
series, hosts = {}, []
for r in rows:
    bound = max(F / r.rate, r.n * F / (r.rate + r.n * r.rate))
    same = {o.mode: o for o in rows if (o.n, o.mbit) == (r.n, r.mbit)}
    floor, http = same.get("floor"), same.get("http")
    delivered = r.n * F
    spread, last_first = spread_cells(r)
    over_floor = ratio_cell(r, floor.last) if floor and floor.complete and r.mode not in ("floor", "mesh") else "-"
    median_over_floor = num(statistics.median(r.times) / statistics.median(floor.times)) \
        if floor and floor.complete and r.complete and r.mode not in ("floor", "mesh") else "-"
    speedup = f"{http.last / r.last:.1f}x" if http and r.mode not in ("floor", "mesh", "http") and r.complete else "-"
    measured = not r.computed
    print(f"| {r.n} | {r.mbit:g} Mbit/s | {names[r.mode]} | {r.done}/{r.n} | {bound:.1f} s | {time_cell(r)} | "
          f"{ratio_cell(r, bound)} | {over_floor} | {median_over_floor} | {spread} | {last_first} | {speedup} | "
          f"{num(r.origin_sent / F) if measured and r.mode not in ('floor', 'mesh') else '-'} | "
          f"{num(r.received / delivered) if measured else '-'} | "
          f"{num(r.cpu_per_gib(delivered), '.1f') if measured else '-'} | {num(r.process_cpu_per_gib(delivered), '.1f')} | "
          f"{busy_cell(r)} |")
    y = r.last / bound if r.complete else r.limit / bound
    series.setdefault(names[r.mode], []).append((r.n, y, r.complete, r.computed))
    if (r.n, r.mbit) not in hosts:
        hosts.append((r.n, r.mbit))
print("\nbound = max(F/u, N*F/(u + N*u)), u = one link's rate. origin sent, hosts received: bytes on the origin's "
      "link and on the hosts' links (headers, and pieces received twice, included). CPU s/GiB: busy CPU-seconds per "
      "GiB delivered (N x F); machine = both cores from /proc/stat (the emulator's softirq included, iowait not), "
      "processes = the origin's seeder and the peers or daemons. A mode whose hosts were not all done within its "
      "limit shows 'not done in' the limit and how many were.")
plot(f"{out}/fanout.png", f"Fan-out of {size_mib} MiB", series, hosts)
PY
