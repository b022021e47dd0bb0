#!/usr/bin/env bash
# Fan-out: N app hosts each need a complete release of F MiB. Baseline: every host downloads it
# from the origin's nginx over HTTP (the single distribution server). rookery: every host's mount
# daemon prefetches it through the swarm (origin seeder + opentracker + every other host).
# Runs in the swarm lab (scripts/lab/lab.sh): network namespaces, every link shaped to MBIT.
#
#   scripts/bench/fanout.sh [--hosts "4 8 16"] [--size-mib 64] [--mbit 50] [--piece-size BYTES (default: publish's)] [--skip-http]
#                         [--timeline] [--out DIR]
#
# Prints a table (time until the last host is complete, ratio to the lower bound
# max(F/u_origin, F/d_host, N*F/(u_origin + sum of host uploads)), speedup over HTTP, CPU-seconds
# per GiB delivered, bytes the origin sent) and writes DIR/fanout.png. --timeline also writes
# DIR/fanout_timeline_N.txt: every 0.5 s, the MB/s leaving the origin, leaving all hosts and
# reaching all hosts (from the bridge's interface counters). Bounded: each transfer is given at most 10x the
# HTTP baseline's expected time.
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS="4 8 16"
SIZE_MIB=64
MBIT=50
PIECE=0  # publish's default
OUT=bench-results
SKIP_HTTP=0
TIMELINE=0
while (($#)); do
  case $1 in
    --hosts) HOSTS=$2; shift 2 ;;
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --mbit) MBIT=$2; shift 2 ;;
    --piece-size) PIECE=$2; shift 2 ;;
    --skip-http) SKIP_HTTP=1; shift ;;
    --timeline) TIMELINE=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/lib/cluster.sh
source scripts/lab/lab.sh
rk_bench_init "$OUT" "network namespaces, tc, FUSE"
OUT=$RK_OUT

SRC=$RK_WORK/src
mkdir -p "$SRC"
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$SRC/blob.bin"
RESULTS=$RK_WORK/results.txt
: >"$RESULTS"
now() { date +%s.%N; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }  # CPU time, in clock ticks
cpu_snapshot() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8, $5}' /proc/stat; }
busy_since() {  # busy_since "TOTAL IDLE": percent of both cores busy since that snapshot
  python3 -c "import sys; t0, i0 = map(int, sys.argv[1].split()); t1, i1 = map(int, sys.argv[2].split()); print(round(100 * (1 - (i1 - i0) / max(1, t1 - t0))))" "$1" "$(cpu_snapshot)"
}
HZ=$(getconf CLK_TCK)

for N in $HOSTS; do
  rk_log "fan-out N=$N: building the lab ($((N + 1)) hosts at $MBIT Mbit/s)"
  lab_up "$N" "$MBIT"
  O=$(lab_ip 0)
  REPO=$RK_WORK/repo-$N
  lab_origin "$REPO"
  lab_publish "$SRC" "$REPO" 1.0 "$PIECE"
  PIECE=$(lab_piece_size "$REPO" 1.0)
  limit=$((SIZE_MIB * 8 * N * 10 / MBIT + 60))

  # Baseline: every host fetches the file over HTTP at once.
  http_time=nan http_cpu=0 http_busy=0
  if ((!SKIP_HTTP)); then
    nginx_pids=$(for p in $(ip netns pids "$(lab_ns 0)"); do [[ $(cat "/proc/$p/comm" 2>/dev/null) == nginx ]] && echo "$p"; done)
    nginx_before=0
    for p in $nginx_pids; do nginx_before=$((nginx_before + $(ticks "$p"))); done
    start=$(now)
    cpu0=$(cpu_snapshot)
    curl_cpu=$(bash -c '
      for ((i = 1; i <= '"$N"'; i++)); do
        ip netns exec "'"$LAB_PREFIX"'-h$i" curl -s --max-time '"$limit"' -o /dev/null "http://'"$O"':8080/rookery/data/1.0/blob.bin" &
      done
      wait
      times | tail -1')
    http_time=$(python3 -c "print($(now) - $start)")
    http_busy=$(busy_since "$cpu0")
    nginx_after=0
    for p in $nginx_pids; do nginx_after=$((nginx_after + $(ticks "$p"))); done
    http_cpu=$(python3 -c "
import re
t = [int(m) * 60 + float(s) for m, s in re.findall(r'(\d+)m([\d.]+)s', '$curl_cpu')]
print(sum(t) + ($nginx_after - $nginx_before) / $HZ)")
  fi

  # rookery: a seeder at the origin, a mount daemon per host, all prefetching at once.
  lab_seed "$REPO"
  seeder=$LAB_SEEDER_PID
  daemons=()
  for ((i = 1; i <= N; i++)); do
    # The FUSE mount lives in the daemon's own mount namespace; prefetch talks to the daemon
    # through the control socket in its cache directory.
    lab_start_mount "$i" "$RK_WORK/mnt-$N-$i" "$RK_WORK/cache-$N-$i" "$RK_WORK/mount-$N-$i.log" --fetch background
    daemons+=("$LAB_MOUNT_PID")
  done
  for ((i = 1; i <= N; i++)); do rk_wait_for 20 test -S "$RK_WORK/cache-$N-$i/control.sock"; done
  sleep 1
  start=$(now)
  cpu0=$(cpu_snapshot)
  origin_sent0=$(lab_sent 0)
  sampler=
  if ((TIMELINE)); then
    lab_rates "$N" >"$OUT/fanout_timeline_$N.txt" &
    sampler=$!
  fi
  for ((i = 1; i <= N; i++)); do
    (timeout "$limit" "$RK_BIN" prefetch 1.0 --cache "$RK_WORK/cache-$N-$i" >/dev/null 2>&1 && now >"$RK_WORK/done-$N-$i") &
  done
  for ((i = 1; i <= N; i++)); do rk_wait_for "$limit" test -s "$RK_WORK/done-$N-$i" || true; done
  last=$(cat "$RK_WORK"/done-"$N"-* 2>/dev/null | sort -n | tail -1)
  first=$(cat "$RK_WORK"/done-"$N"-* 2>/dev/null | sort -n | head -1)
  complete=$(ls "$RK_WORK"/done-"$N"-* 2>/dev/null | wc -l)
  rk_time=$(python3 -c "print(${last:-0} - $start if $complete == $N else float('nan'))")
  rk_ticks=$(ticks "$seeder")
  for p in "${daemons[@]}"; do rk_ticks=$((rk_ticks + $(ticks "$p"))); done
  rk_busy=$(busy_since "$cpu0")
  origin_sent=$(($(lab_sent 0) - origin_sent0))
  [[ -n $sampler ]] && kill "$sampler"
  echo "$N $http_time $rk_time $http_cpu $(python3 -c "print($rk_ticks / $HZ)") $http_busy $rk_busy $(python3 -c "print(${first:-0} - $start)") $origin_sent" >>"$RESULTS"
  rk_log "N=$N: http ${http_time}s, rookery ${rk_time}s ($complete/$N hosts complete)"

  kill -TERM "${daemons[@]}" "$seeder" 2>/dev/null || true
  for p in "${daemons[@]}" "$seeder"; do rk_wait_for 20 bash -c "! kill -0 $p" || kill -KILL "$p" 2>/dev/null || true; done
  lab_down
  rm -rf "$RK_WORK"/cache-"$N"-* "$REPO/data"
done

/usr/bin/python3 - "$RESULTS" "$SIZE_MIB" "$MBIT" "$OUT" "$PIECE" <<'PY'
import math, sys
results, size_mib, mbit, out, piece = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
rows = [list(map(float, l.split())) for l in open(results)]
rate = mbit * 1e6 / 8  # bytes/s, every link
F = size_mib * 1048576
print(f"Fan-out of a {size_mib} MiB release, every link {mbit} Mbit/s, piece size {piece // 1024} KiB\n")
print("| hosts N | lower bound | HTTP from one server | rookery swarm (first host) | rookery / bound (target <= 1.3 at N=16) | speedup over HTTP | CPU s/GiB HTTP (nginx+curl) | CPU s/GiB rookery | CPU ratio (target <= 2) | machine busy HTTP / rookery | origin sent (x F) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
plot = []
for n, http, rk, http_cpu, rk_cpu, http_busy, rk_busy, rk_first, origin_sent in rows:
    n = int(n)
    bound = max(F / rate, F / rate, n * F / (rate + n * rate))
    gib = n * F / 2**30
    cpu_ratio = f"{rk_cpu / http_cpu:.1f}" if http_cpu > 0 else "n/a"
    skipped = math.isnan(http)
    print(f"| {n} | {bound:.1f} s | {'skipped' if skipped else f'{http:.1f} s'} | {rk:.1f} s ({rk_first:.1f} s) | {rk / bound:.2f} | "
          f"{'-' if skipped else f'{http / rk:.1f}x'} | {'-' if skipped else f'{http_cpu / gib:.1f}'} | "
          f"{rk_cpu / gib:.1f} | {cpu_ratio} | {'-' if skipped else f'{http_busy:.0f}%'} / {rk_busy:.0f}% | {origin_sent / F:.2f} |")
    plot.append((n, bound, http, rk))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [p[0] for p in plot]
    ax.plot(ns, [p[2] for p in plot], "o-", label="HTTP from one server (nginx)")
    ax.plot(ns, [p[3] for p in plot], "o-", label="rookery swarm")
    ax.plot(ns, [p[1] for p in plot], "k--", label="lower bound")
    ax.set_xlabel("hosts")
    ax.set_ylabel("seconds until the last host is complete")
    ax.set_title(f"Fan-out of {size_mib} MiB at {mbit} Mbit/s per link")
    ax.legend()
    fig.tight_layout()
    fig.savefig(f"{out}/fanout.png", dpi=100)
    print(f"\nplot: {out}/fanout.png")
except ImportError:
    print("matplotlib missing: no plot")
PY
