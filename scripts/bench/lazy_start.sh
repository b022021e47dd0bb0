#!/usr/bin/env bash
# Lazy start: a ~1 GiB release whose application reads 6.4% of it, scattered over several files,
# then prints "ready". Cold host, one link of MBIT Mbit/s in the swarm lab. Compares time-to-ready:
#  - rookery lazy mount: exec straight from /releases (`--fetch lazy`);
#  - download everything, then start: `rookery prefetch`, and aria2c (an independent client in the
#    same swarm);
#  - the bound: bytes the application reads / link bandwidth.
#
#   scripts/bench/lazy_start.sh [--size-mib 1024] [--mbit 200] [--piece-size BYTES (default: publish's)]
#                               [--format v1|hybrid] [--modes "lazy prefetch aria2"]
#                               [--fetch lazy|background] [--out DIR]
# --fetch is the mount daemon's mode for the exec-from-/releases run (background: the rest of the
# release downloads meanwhile and competes with the application's reads).
# The release is published as v1 by default: aria2 1.36 cannot join hybrid torrents (it computes a
# wrong info-hash for them, aria2 #1903). RK_DAEMON_ARGS adds options to the mount daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MIB=1024
MBIT=200
PIECE=0  # publish's default
FORMAT=v1
MODES="lazy prefetch aria2"
FETCH=lazy
OUT=bench-results
while (($#)); do
  case $1 in
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --mbit) MBIT=$2; shift 2 ;;
    --piece-size) PIECE=$2; shift 2 ;;
    --format) FORMAT=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --fetch) FETCH=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/lib/cluster.sh
source scripts/lab/lab.sh
rk_bench_init "$OUT" "network namespaces, tc, FUSE"
OUT=$RK_OUT

SRC=$RK_WORK/src
mkdir -p "$SRC/bin" "$SRC/assets"
gcc -O2 -o "$SRC/bin/lazyapp" scripts/bench/lazyapp.c
for i in 0 1 2 3 4 5 6 7; do head -c $((SIZE_MIB * 1048576 / 8)) /dev/urandom >"$SRC/assets/pack$i.bin"; done
lab_up 1 "$MBIT"
REPO=$RK_WORK/repo
lab_origin "$REPO"
lab_publish "$SRC" "$REPO" 1.0 "$PIECE" --format "$FORMAT"
PIECE=$(lab_piece_size "$REPO" 1.0)
lab_seed "$REPO"
sleep 2
LIMIT=$((SIZE_MIB * 8 * 3 / MBIT + 60))

# One cold run on the app host: mount (own cache), then MODE: lazy = exec at once, prefetch = fetch
# everything, then exec. Prints "SECONDS BYTES_READ". The mount exists only inside this invocation.
run_rookery() {
  local mode=$1 run=$RK_WORK/$1
  # shellcheck disable=SC2016,SC2086  # CMD: expanded by its own shell; RK_DAEMON_ARGS: words
  lab_start_mount 1 "$run/mnt" "$run/cache" "$run/daemon.log" --fetch "$FETCH" ${RK_DAEMON_ARGS:-} -- bash -c '
    start=$(date +%s.%N)
    if [[ $1 == prefetch ]]; then timeout "$2" "$3" prefetch 1.0 --cache "$0/cache" >/dev/null; fi
    out=$(timeout "$2" "$0/mnt/1.0/bin/lazyapp")
    end=$(date +%s.%N)
    echo "$(python3 -c "print($end - $start)") ${out#ready }"
  ' "$run" "$mode" "$LIMIT" "$RK_BIN"
}

# aria2c, an independent BitTorrent client, downloads the whole release from the same swarm.
run_aria2() {
  local run=$RK_WORK/aria2
  mkdir -p "$run"
  ip netns exec "$(lab_ns 1)" bash -c '
    start=$(date +%s.%N)
    timeout "$2" aria2c --dir "$0" --seed-time=0 --enable-dht=false --enable-dht6=false \
      --enable-peer-exchange=false --bt-enable-lpd=false --disable-ipv6=true --listen-port=6882 \
      --file-allocation=none --console-log-level=warn --summary-interval=0 "$1" >"$0/aria2.log" 2>&1
    chmod +x "$0/1.0/bin/lazyapp"  # BitTorrent v1 clients do not apply BEP 47 attributes
    out=$("$0/1.0/bin/lazyapp")
    end=$(date +%s.%N)
    echo "$(python3 -c "print($end - $start)") ${out#ready }"
  ' "$run" "$REPO/torrents/1.0.torrent" "$LIMIT"
}

# A mode left out of --modes is reported as not run.
lazy=0 prefetch=0 aria=0
[[ " $MODES " == *" lazy "* ]] && { lazy=$(run_rookery lazy); rk_log "rookery lazy: $lazy"; }
[[ " $MODES " == *" prefetch "* ]] && { prefetch=$(run_rookery prefetch); rk_log "rookery prefetch then start: $prefetch"; }
[[ " $MODES " == *" aria2 "* ]] && { aria=$(run_aria2); rk_log "aria2c then start: $aria"; }

/usr/bin/python3 - "$lazy" "$prefetch" "$aria" "$MBIT" "$SIZE_MIB" "$PIECE" "$FORMAT" "$OUT" "$FETCH" <<'PY'
import sys
# Each run is "SECONDS BYTES_READ"; "0" = not run; no byte count = the application never printed
# "ready" (it did not complete in time).
def parse(arg):
    f = arg.split()
    return None if f == ["0"] else (float(f[0]), int(f[1]) if len(f) > 1 else None)
runs = {name: parse(a) for name, a in zip(("lazy", "prefetch", "aria2"), sys.argv[1:4])}
mbit, size_mib, piece, fmt, out, fetch = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7], sys.argv[8], sys.argv[9]
read = next((r[1] for r in runs.values() if r and r[1]), None)
if read is None:
    sys.exit("no run completed: no result")
bound = read / (mbit * 1e6 / 8)
print(f"Lazy start: {size_mib} MiB release ({fmt}, pieces {piece // 1024} KiB), the application reads "
      f"{read / 2**20:.1f} MiB ({100 * read / (size_mib * 2**20):.1f}%), link {mbit} Mbit/s\n")
print("| start | time to ready | vs bound | target |")
print("|---|---|---|---|")
print(f"| bound: bytes read / link bandwidth | {bound:.2f} s | 1.00 | |")
def cell(r):
    if r is None: return "not run | |"
    if r[1] is None: return f"did not complete within {r[0]:.0f} s | |"
    return f"{r[0]:.2f} s | {r[0] / bound:.2f} |"
lazy = runs["lazy"]
target = 1.5 * bound + 1
verdict = "" if not lazy or lazy[1] is None else ("reached" if lazy[0] <= target else "NOT reached")
print(f"| rookery mount, --fetch {fetch} (exec from /releases) | {cell(lazy)} <= 1.5 x bound + 1 s = {target:.2f} s: {verdict} |")
print(f"| rookery prefetch, then start | {cell(runs['prefetch'])} |")
print(f"| aria2c download, then start | {cell(runs['aria2'])} |")
done = [r[0] for k, r in runs.items() if k != "lazy" and r and r[1]]
if lazy and lazy[1] and done:
    speedup = min(done) / lazy[0]
    print(f"\nlazy start is {speedup:.1f}x faster than the faster download-then-start "
          f"(target >= 8x: {'reached' if speedup >= 8 else 'NOT reached'})")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = ["bound", "rookery lazy", "rookery prefetch\nthen start", "aria2c\nthen start"]
    values = [bound] + [r[0] if r and r[1] else 0 for r in runs.values()]
    ax.bar(names, values, color=["gray", "C1", "C0", "C2"])
    ax.set_ylabel("seconds to ready")
    ax.set_title(f"Lazy start of a {size_mib} MiB release at {mbit} Mbit/s")
    fig.tight_layout()
    fig.savefig(f"{out}/lazy_start.png", dpi=100)
    print(f"plot: {out}/lazy_start.png")
except ImportError:
    print("matplotlib missing: no plot")
PY
