#!/usr/bin/env bash
# Herd: a new release lands on a whole fleet at once and every host starts its application at the
# same moment, lazily. N hosts in the swarm lab (scripts/lab/lab.sh), one lab per host count; the
# release is F MiB in --files files. Every host runs `rookery mount --fetch lazy` and, once all
# mounts are up, at the same moment, scripts/bench/herdapp.c: it reads the hot set, 1/DENOM of every
# file (by default the first 1/DENOM of each; --runs K reads K scattered runs per file instead),
# file after file in name order, and checks every byte it read against the source tree. The time of
# a host is from the common start until its application has read and checked its hot set; a host
# whose bytes differ, or that does not finish within the limit, has no time.
# Lower bound: hot set bytes / one host link's rate (every host must receive its hot set).
#
# Modes (--modes, both by default, in the same lab one after the other, each on fresh caches):
#   lazy  the release as published: each host fetches what its application reads, when it reads it;
#   hot   the release published with a hot set (`rookery publish --hot-set`) recorded the way an
#         operator would: one host (not measured, its cache then deleted) mounts a staging version
#         of the same tree, runs the application and `rookery trace`; every host of the herd then
#         fetches that hot set as it joins, while its application reads.
#
#   scripts/bench/herd.sh [--hosts "4 8 16" | "16:40 32:20 64:10"] [--size-mib 64] [--mbit 50]
#                         [--files 8] [--fraction 8] [--runs 1] [--piece-size BYTES (default:
#                         publish's)] [--modes "lazy hot"] [--limit SECONDS] [--timeline] [--out DIR]
# --hosts as in fanout.sh: N:RATE gives that host count its own rate (Mbit/s), default --mbit; keep
# N x rate <= ~640 Mbit/s. --fraction 8 = 1/8 of every file is hot. --limit: seconds the hosts are
# given (default 50 x bound + 60 s). --timeline writes DIR/herd_timeline_N_herd.txt (lab_rates).
# LAB_CATALOG_HOST=1 serves the catalog from a host of its own (scripts/lab/lab.sh), not the origin.
# RK_DAEMON_ARGS adds options to the mount daemons; RK_TRACE_ARGS replaces the staging host's
# `--partial-readahead-kb 0` (RK_TRACE_ARGS= records with the readahead of the fleet).
#
# Logs, per host count and mode, the payload the daemons themselves counted per host (status.json,
# in multiples of the hot set) and how much of it was redundant (received twice or already held).
# Prints a table per host count (time until the last host has read its hot set, time / bound, the
# hosts' finish-time spread, bytes the origin sent / hot set and / F, machine busy %) and writes
# DIR/herd.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS="4 8 16"
SIZE_MIB=64
MBIT=50
FILES=8
DENOM=8
RUNS=1
MODES="lazy hot"
PIECE=0  # publish's default
LIMIT=0  # 50 x bound + 60 s
OUT=bench-results
TIMELINE=0
source scripts/bench/fleet_lib.sh
while (($#)); do
  case $1 in
    --files) FILES=$2; shift 2 ;;
    --fraction) DENOM=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    *) fleet_option "$@"; shift "$FLEET_SHIFT" ;;
  esac
done
fleet_init "$OUT" herd "$TIMELINE"

gcc -O2 -o "$RK_WORK/herdapp" scripts/bench/herdapp.c
FILE_BYTES=$((SIZE_MIB * 1048576 / FILES))
for ((f = 0; f < FILES; f++)); do head -c "$FILE_BYTES" /dev/urandom >"$SRC/$(printf 'asset%03d.bin' "$f")"; done
HOT=$((FILES * (FILE_BYTES / DENOM / RUNS) * RUNS))  # bytes every host reads (herdapp's arithmetic)

# One host, inside the `ip netns exec` of its mount daemon (lab_start_mount), where the FUSE mount
# is visible: report ready, wait for the common start, read and check the hot set, write the time
# to RUN/I.done (or why not to RUN/I.failed), then keep the daemon serving the other hosts until
# RUN/stop. Every wait is bounded.
# shellcheck disable=SC2016  # expanded by the host's shell
HOST_SCRIPT='
  run=$1 i=$2 app=$3 src=$4 runs=$5 denom=$6 limit=$7 version=$8
  grep -qs " $run/mnt-$i fuse" /proc/mounts || { echo "not mounted" >"$run/$i.failed"; exit; }
  touch "$run/$i.ready"
  for ((w = 0; w < 1200; w++)); do [[ -e $run/go ]] && break; sleep 0.05; done
  if out=$(timeout "$limit" "$app" "$run/mnt-$i/$version" "$src" "$runs" "$denom" 2>&1); then
    echo "$(date +%s.%N) ${out#ok }" >"$run/$i.done.tmp" && mv "$run/$i.done.tmp" "$run/$i.done"
  else
    echo "${out:-timed out after $limit s}" >"$run/$i.failed"
  fi
  for ((w = 0; w < limit + 60; w++)); do [[ -e $run/stop ]] && break; sleep 1; done
'

# The hot set of the application, recorded as an operator would: host 1 mounts the staging version
# 0.9 (the same tree) without kernel readahead (so the trace holds what the application read, not
# the kernel's reads into each run's next piece; RK_TRACE_ARGS replaces that option), runs the
# application on it, and `rookery trace` prints what it read. Its cache is deleted before the
# herd. record_hot_set RUN OUT_FILE
record_hot_set() {
  lab_publish "$SRC" "$REPO" 0.9 "$PIECE_USED"
  rk_wait_for 20 grep -q "seeding 0.9" "$REPO.seed.log" || { rk_log "the seeder did not pick 0.9 up"; return 1; }
  # shellcheck disable=SC2086  # words (the staging host runs the fleet's daemon options)
  lab_start_mount 1 "$1/mnt-trace" "$1/cache-trace" "$1/mount-trace.log" --fetch lazy ${RK_DAEMON_ARGS:-} \
    ${RK_TRACE_ARGS---partial-readahead-kb 0} -- \
    bash -c '"$1" "$2/0.9" "$3" "$4" "$5" >/dev/null && "$6" trace 0.9 --cache "$7" >"$8"' record \
    "$RK_WORK/herdapp" "$1/mnt-trace" "$SRC" "$RUNS" "$DENOM" "$RK_BIN" "$1/cache-trace" "$2"
  rm -rf "$1/cache-trace"
  [[ -s $2 ]] || { rk_log "no hot set was recorded"; return 1; }
  rk_log "hot set: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["ranges"]; print(len(r), "ranges,", sum(x.get("length", 0) for x in r), "bytes")' "$2")"
}

run_herd() {
  local mode version=1.0
  fleet_seed
  for mode in $MODES; do
    if [[ $mode == hot ]]; then
      record_hot_set "$(fleet_run trace)" "$RK_WORK/hot-$N.json"
      version=1.1
      lab_publish "$SRC" "$REPO" "$version" "$PIECE_USED" --hot-set "$RK_WORK/hot-$N.json"
      rk_wait_for 20 grep -q "seeding $version" "$REPO.seed.log" || { rk_log "the seeder did not pick $version up"; return 1; }
    fi
    herd_once "$mode" "$version"
  done
  fleet_stop "$FLEET_SEEDER"
}

payload_per_host() {  # payload_per_host RUN VERSION: the daemons' own counts (status.json), / hot set
  /usr/bin/python3 - "$1" "$2" "$HOT" "$N" <<'PY'
import glob, json, sys
run, version, hot, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
got = wasted = 0
for path in glob.glob(f"{run}/cache-*/status.json"):
    for r in json.load(open(path)).get("releases", []):
        if r.get("version") == version:
            got += r["bytes_downloaded_session"]
            wasted += r.get("bytes_redundant_session", 0)
print(f"received {got / n / hot:.2f}x the hot set, of it redundant {wasted / n / hot:.2f}x (received twice or already held)")
PY
}

herd_once() {  # herd_once MODE VERSION: every host starts the application on VERSION at once
  local run i hosts=() limit=$LIMIT
  ((limit > 0)) || limit=$(awk -v h="$HOT" -v m="$MBIT" 'BEGIN {print int(50 * h * 8 / (m * 1e6) + 60)}')
  run=$(fleet_run "herd-$1")
  for ((i = 1; i <= N; i++)); do
    # shellcheck disable=SC2086  # RK_DAEMON_ARGS: words
    lab_start_mount "$i" "$run/mnt-$i" "$run/cache-$i" "$run/mount-$i.log" --fetch lazy ${RK_DAEMON_ARGS:-} -- \
      bash -c "$HOST_SCRIPT" herd-host "$run" "$i" "$RK_WORK/herdapp" "$SRC" "$RUNS" "$DENOM" "$limit" "$2" &
    hosts+=("$!")
  done
  RK_PIDS+=("${hosts[@]}")
  rk_wait_for 60 fleet_have "$run" ready failed || rk_log "herd: only $(fleet_count "$run" ready)/$N mounts came up"
  sleep 1
  fleet_begin "$1" "$FLEET_SEEDER"
  touch "$run/go"
  fleet_wait "$run" "$limit"
  fleet_end "$run" "$HOT,$(fleet_count "$run" failed)"
  for ((i = 1; i <= N; i++)); do [[ -e $run/$i.failed ]] && rk_log "host $i: $(head -c 300 "$run/$i.failed")"; done
  sleep 1.5  # the daemons write status.json every second
  rk_log "N=$N $1: payload per host $(payload_per_host "$run" "$2")"
  touch "$run/stop"
  rk_wait_for 30 bash -c "! kill -0 ${hosts[*]} 2>/dev/null" || rk_log "herd: hosts still running after 30 s (stopped with the lab)"
  rm -rf "$run"/cache-*
}

fleet_labs "$HOSTS" "$MBIT" "$SRC" "$PIECE" run_herd

/usr/bin/python3 - "$FLEET_RESULTS" "$SIZE_MIB" "$PIECE_USED" "$FLEET_OUT" "$FILES" "$DENOM" "$RUNS" <<'PY'
import sys
sys.path.insert(0, "scripts/bench")
from fleet_report import read_rows, num, time_cell, ratio_cell, spread_cells, busy_cell, plot
results, size_mib, piece, out, files, denom, runs = sys.argv[1], *map(int, sys.argv[2:4]), sys.argv[4], *map(int, sys.argv[5:8])
rows = read_rows(results)
F = size_mib * 1048576
reads = "the first 1/%d of every file" % denom if runs == 1 else f"1/{denom} of every file in {runs} scattered runs"
print(f"Herd: {size_mib} MiB release in {files} files (piece size {piece // 1024} KiB); every host mounts it "
      f"lazily and reads {reads} at the same moment, checking every byte\n")
print("| hosts N | link | mode | hosts done (checked) | failed | hot set per host | bound | time (last host) | / bound | host finish s: first / median / last | last / first | origin sent (x hot set) | origin sent (x F) | received per host (x hot set) | machine busy |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
series, hosts = {}, []
names = {"lazy": "rookery, --fetch lazy", "hot": "rookery, --fetch lazy, hot set published"}
for r in rows:
    hot, failed = map(int, r.extra.split(","))
    bound = hot / r.rate
    spread, last_first = spread_cells(r)
    print(f"| {r.n} | {r.mbit:g} Mbit/s | {names.get(r.mode, r.mode)} | {r.done}/{r.n} | {failed} | {hot / 2**20:.2f} MiB | {bound:.2f} s | {time_cell(r)} | "
          f"{ratio_cell(r, bound)} | {spread} | {last_first} | {num(r.origin_sent / hot)} | {num(r.origin_sent / F)} | "
          f"{num(r.received / r.n / hot)} | {busy_cell(r)} |")
    series.setdefault(names.get(r.mode, r.mode), []).append((r.n, r.last / bound if r.complete else r.limit / bound, r.complete, False))
    if (r.n, r.mbit) not in hosts: hosts.append((r.n, r.mbit))
print("\nbound = hot set bytes / one link's rate. A host counts as done only once every byte it read matched "
      "the source; 'failed': hosts whose read failed or differed. received per host: bytes that reached the hosts' "
      "links / N (what a lazy host fetches beyond its hot set shows here).")
plot(f"{out}/herd.png", f"Herd: {size_mib} MiB in {files} files, 1/{denom} of each read lazily", series, hosts)
PY
