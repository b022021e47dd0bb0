#!/usr/bin/env bash
# Landed throughput: reads of a 1 GiB file that has fully landed in a mount's cache, through the
# mount vs reading the same cache file directly. Sequential, cold (page cache dropped before each
# read) and warm (read again at once); and cold random 4 KiB reads (RANDOM_READS of them, one at a
# time, at uniform offsets, the same offsets for both). Also samples the mount daemon's anonymous memory (RssAnon)
# while it serves the release.
#
#   scripts/bench/landed_throughput.sh [--size-mib N] [--runs N] [--random-reads N] [--takeover] [--out DIR]
# --takeover: kill the serving process once after the release has landed and measure its successor.
# Prints a markdown table and writes DIR/landed_throughput.png (default DIR: bench-results/).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=1024
RUNS=3
RANDOM_READS=4000
TAKEOVER=0
OUT=bench-results
while (($#)); do
  case $1 in
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --random-reads) RANDOM_READS=$2; shift 2 ;;
    --takeover) TAKEOVER=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/lib/cluster.sh
rk_bench_init "$OUT" "drops the page cache, mounts FUSE"
OUT=$RK_OUT

gcc -O2 -o "$RK_WORK/randread" scripts/bench/randread.c
SRC=$RK_WORK/src
mkdir -p "$SRC"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$SRC/big.bin"
REPO=$RK_WORK/repo
rk_start_tracker "$REPO"
"$RK_BIN" publish "$SRC" --repo "$REPO" --version bench --tracker "$RK_TRACKER_URL" \
  --tracker-pid-file "$RK_TRACKER_PIDFILE" >/dev/null 2>&1
rk_start_seeder "$REPO"
MNT=$RK_WORK/mnt
rk_start_mount host "$MNT" "file://$REPO/" --fetch background
stat "$MNT/bench/big.bin" >/dev/null
landed() { [[ -n $(rk_status host bench pieces_total) && $(rk_status host bench pieces_verified) == "$(rk_status host bench pieces_total)" ]]; }
rk_wait_for 600 landed || { echo "release did not land" >&2; exit 1; }
CACHE_FILE=$RK_WORK/host-cache/releases/bench/data/bench/big.bin
rm -f "$REPO/data/bench/big.bin" "$SRC/big.bin"  # only the cache file and the mount remain

if ((TAKEOVER)); then  # measure a serving process that took the mount over from a killed one
  old=$(rk_server_pid "$RK_PID_host")
  kill -KILL "$old"
  new=$(rk_wait_takeover "$RK_PID_host" "$old" "$RK_WORK/host-cache")
  echo "measuring after a takeover: serving process $old killed, $new serves"
fi

# RssAnon of the serving process, sampled every 100 ms while the benchmark runs.
pid=$(rk_server_pid "$RK_PID_host")
(while kill -0 "$pid" 2>/dev/null; do awk '/RssAnon/ {print $2}' "/proc/$pid/status"; sleep 0.1; done) >"$RK_WORK/rss.txt" &
sampler=$!
RK_PIDS+=("$sampler")

# Seconds to read FILE sequentially in 1 MiB blocks.
read_seconds() {
  local start end
  start=$(date +%s.%N)
  dd if="$1" of=/dev/null bs=1M status=none
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.4f}')"
}
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

: >"$RK_WORK/results.txt"
for ((run = 1; run <= RUNS; run++)); do
  for target in direct mount; do
    file=$CACHE_FILE
    [[ $target == mount ]] && file=$MNT/bench/big.bin
    drop_caches
    cold=$(read_seconds "$file")
    # Warm: the page cache holds the file; each warm read is short (~0.1 s), so take the median
    # of five in a row.
    warm=$(for i in 1 2 3 4 5; do read_seconds "$file"; done | sort -n | sed -n 3p)
    echo "$target $run $cold $warm" >>"$RK_WORK/results.txt"
    drop_caches
    "$RK_WORK/randread" "$file" "$RANDOM_READS" "$run" | awk -v t="$target" -v r="$run" \
      '{s += $1} END {print t, r, s / 1e6}' >>"$RK_WORK/random.txt"
  done
done
kill "$sampler" 2>/dev/null || true

# Debian's python3 (with matplotlib from scripts/setup.sh), not whatever python3 is first on PATH.
/usr/bin/python3 - "$RK_WORK/results.txt" "$RK_WORK/rss.txt" "$SIZE_MIB" "$OUT" "$RK_WORK/random.txt" "$RANDOM_READS" <<'PY'
import statistics, sys
results, rss_file, size_mib, out, random_file, random_reads = sys.argv[1:7]
size_mib, random_reads = int(size_mib), int(random_reads)
rows = [l.split() for l in open(results)]
random_rows = [l.split() for l in open(random_file)]
def times(target, col, rows=rows):
    return [float(r[col]) for r in rows if r[0] == target]
# The disk's speed drifts between runs, so each run pairs a direct read with a mount read taken
# right after it, and the ratio reported is the median of the per-run ratios.
def ratios(col, rows=rows):
    return sorted(d / m for d, m in zip(times("direct", col, rows), times("mount", col, rows)))
mib_s = lambda s: size_mib / s
d_cold, d_warm = statistics.median(times("direct", 2)), statistics.median(times("direct", 3))
m_cold, m_warm = statistics.median(times("mount", 2)), statistics.median(times("mount", 3))
r_cold, r_warm = ratios(2), ratios(3)
rss = [int(x) for x in open(rss_file) if x.strip()]
rss_max = max(rss) / 1024 if rss else float("nan")
print(f"| read ({size_mib} MiB, {len(rows)//2} runs) | cache file directly | through the mount | mount/direct, median of runs [min-max] | target |")
print("|---|---|---|---|---|")
print(f"| cold (page cache dropped) | {mib_s(d_cold):.0f} MiB/s | {mib_s(m_cold):.0f} MiB/s | "
      f"{statistics.median(r_cold):.2f} [{r_cold[0]:.2f}-{r_cold[-1]:.2f}] | >= 0.9 |")
print(f"| warm (page cache, median of 5 reads) | {mib_s(d_warm):.0f} MiB/s | {mib_s(m_warm):.0f} MiB/s | "
      f"{statistics.median(r_warm):.2f} [{r_warm[0]:.2f}-{r_warm[-1]:.2f}] | >= 0.85 |")
d_rand, m_rand = statistics.median(times("direct", 2, random_rows)), statistics.median(times("mount", 2, random_rows))
r_rand = ratios(2, random_rows)
print(f"| cold random 4 KiB reads ({random_reads} per run, one at a time) | {random_reads / d_rand:.0f} reads/s | "
      f"{random_reads / m_rand:.0f} reads/s | {statistics.median(r_rand):.2f} [{r_rand[0]:.2f}-{r_rand[-1]:.2f}] | |")
print(f"\nmount daemon RssAnon while serving: max {rss_max:.1f} MiB (target <= 128 MiB)")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = [0, 1]
    ax.bar([i - 0.2 for i in x], [mib_s(d_cold), mib_s(d_warm)], 0.4, label="cache file directly")
    ax.bar([i + 0.2 for i in x], [mib_s(m_cold), mib_s(m_warm)], 0.4, label="through rookery mount")
    ax.set_xticks(x, ["cold", "warm"])
    ax.set_ylabel("MiB/s")
    ax.set_title(f"Sequential read of a landed {size_mib} MiB file")
    ax.legend()
    fig.tight_layout()
    fig.savefig(f"{out}/landed_throughput.png", dpi=100)
    print(f"plot: {out}/landed_throughput.png")
except ImportError:
    print("matplotlib missing: no plot")
PY
