#!/usr/bin/env bash
# Cold random reads: 4 KiB reads at random offsets of a release that has not landed, one at a
# time, each in a piece nobody on the host has fetched yet. For every link rate and piece size:
# p50 and p99 latency against the bound `piece size / link bandwidth + RTT` (a read cannot return
# before its whole piece has arrived and passed its hash check).
# Runs in the swarm lab: host 0 is the origin (opentracker, nginx, `rookery seed`), host 1 a cold
# app host with a lazy mount. The same data is published once per piece size.
#
#   scripts/bench/random_reads.sh [--size-mib 256] [--mbit "50 200 1000"]
#                                 [--pieces "262144 1048576 4194304"] [--reads 48] [--out DIR]
# Prints a table and writes DIR/random_reads.png. RK_DAEMON_ARGS adds options to the mount daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=256
MBITS="50 200 1000"
PIECES="262144 1048576 4194304"
READS=48
OUT=bench-results
while (($#)); do
  case $1 in
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --mbit) MBITS=$2; shift 2 ;;
    --pieces) PIECES=$2; shift 2 ;;
    --reads) READS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/lib/cluster.sh
source scripts/lab/lab.sh
rk_bench_init "$OUT" "network namespaces, tc, FUSE"
OUT=$RK_OUT

gcc -O2 -o "$RK_WORK/randread" scripts/bench/randread.c
SRC=$RK_WORK/src
mkdir -p "$SRC"
head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$SRC/data.bin"
set -- $MBITS
lab_up 1 "$1"
REPO=$RK_WORK/repo
lab_origin "$REPO"
for piece in $PIECES; do lab_publish "$SRC" "$REPO" "p$((piece / 1024))k" "$piece"; done
lab_seed "$REPO"
sleep 2
RESULTS=$RK_WORK/results.txt
: >"$RESULTS"

for mbit in $MBITS; do
  lab_rate "$mbit"
  rtt_ms=$(lab_rtt_ms 1 0)
  run=$RK_WORK/run-$mbit
  # One cold mount daemon per link rate; the reads run where the mount is (lab_start_mount's CMD).
  # shellcheck disable=SC2016,SC2086  # CMD: expanded by its own shell; RK_DAEMON_ARGS: words
  lab_start_mount 1 "$run/mnt" "$run/cache" "$run/daemon.log" --fetch lazy --read-timeout 120 ${RK_DAEMON_ARGS:-} -- bash -c '
    for piece in $3; do
      v=p$((piece / 1024))k
      stat "$0/mnt/$v/data.bin" >/dev/null  # join the swarm first: the reads time pieces, not the join
      sleep 1
      timeout 600 "$1" "$0/mnt/$v/data.bin" "$2" 42 "$piece" "$4" >"$0/$v.us" || echo "randread failed on $v" >&2
    done
  ' "$run" "$RK_WORK/randread" "$READS" "$PIECES" "$SRC/data.bin"
  for piece in $PIECES; do
    echo "$mbit $piece $rtt_ms $(tr '\n' ' ' <"$run/p$((piece / 1024))k.us")" >>"$RESULTS"
  done
  rk_log "link $mbit Mbit/s (RTT $rtt_ms ms) done"
done

/usr/bin/python3 - "$RESULTS" "$SIZE_MIB" "$READS" "$OUT" <<'PY'
import statistics, sys
results, size_mib, reads, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = []
for line in open(results):
    mbit, piece, rtt, *lat = line.split()
    lat = sorted(float(x) / 1000 for x in lat)  # ms
    if len(lat) < reads:
        print(f"link {mbit} Mbit/s, piece {int(piece) // 1024} KiB: only {len(lat)} of {reads} reads completed")
        continue
    bound = int(piece) * 8 / (int(mbit) * 1e6) * 1000 + float(rtt)
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    rows.append((int(mbit), int(piece), bound, statistics.median(lat), p99, float(rtt)))
print(f"Cold 4 KiB random reads of a {size_mib} MiB release not yet landed, {reads} reads per row, "
      f"each in its own piece, one at a time\n")
print("| link | piece | bound: piece/bandwidth + RTT | p50 | p99 | p50 / bound | p99 / bound |")
print("|---|---|---|---|---|---|---|")
for mbit, piece, bound, p50, p99, rtt in rows:
    print(f"| {mbit} Mbit/s (RTT {rtt:.2f} ms) | {piece // 1024} KiB | {bound:.1f} ms | {p50:.1f} ms | {p99:.1f} ms | "
          f"{p50 / bound:.2f} | {p99 / bound:.2f} |")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, mbit in enumerate(sorted({r[0] for r in rows})):
        sel = [r for r in rows if r[0] == mbit]
        x = [r[1] // 1024 for r in sel]
        ax.plot(x, [r[3] for r in sel], "o-", color=f"C{i}", label=f"p50, {mbit} Mbit/s")
        ax.plot(x, [r[4] for r in sel], "^:", color=f"C{i}", label=f"p99, {mbit} Mbit/s")
        ax.plot(x, [r[2] for r in sel], "--", color="gray")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("piece size (KiB)")
    ax.set_ylabel("read latency (ms); dashed: bound")
    ax.set_title("Cold 4 KiB random reads through a lazy mount")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(f"{out}/random_reads.png", dpi=100)
    print(f"\nplot: {out}/random_reads.png")
except ImportError:
    print("matplotlib missing: no plot")
PY
