#!/usr/bin/env bash
# Takeover: what a running program sees when the mount's serving process is killed.
#
# One mount (lazy) joins RELEASES releases of SIZE MiB each: half prefetched (landed), half read
# only in part (partial). Two programs (rookery_steady_reader) keep reading through the mount, one a
# landed file and one a partial file (its reads wait for pieces from the seeder), checking every
# byte. First a calm phase (no kill) for the baseline, then KILLS times: a probe kills the serving
# process with SIGKILL and at once reads 4 KiB of a landed file that is not in the page cache,
# timing kill -> answer. Reported: that time per kill, the longest single read either program saw
# in each phase, and errors (must be 0). With --holder systemd the packaged unit runs the mount
# under a real systemd (a container on this host's network, cluster.sh) and systemd restarts the
# killed process (RestartSec=100ms) with the descriptors it stored.
#
#   scripts/bench/takeover.sh [--releases N] [--size-mib N] [--kills N] [--replay auto|journal]
#                             [--holder supervisor|systemd] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
RELEASES=10
SIZE_MIB=1024
KILLS=5
REPLAY=auto
HOLDER=supervisor
OUT=bench-results
while (($#)); do
  case $1 in
    --releases) RELEASES=$2; shift 2 ;;
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --kills) KILLS=$2; shift 2 ;;
    --replay) REPLAY=$2; shift 2 ;;
    --holder) HOLDER=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/lib/cluster.sh
rk_bench_init "$OUT" "mounts FUSE, kills the serving process"
READER=$(dirname "$RK_BIN")/tests/rookery_steady_reader
cmake --build "$(dirname "$RK_BIN")" --target rookery_steady_reader -j2 >/dev/null

SRC=$RK_WORK/src
REPO=$RK_WORK/repo
mkdir -p "$SRC/data"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$SRC/data/big.bin"
rk_start_tracker "$REPO"
rk_log "publishing $RELEASES releases of $SIZE_MIB MiB"
for ((i = 1; i <= RELEASES; i++)); do
  "$RK_BIN" publish "$SRC" --repo "$REPO" --version "r$i" --tracker "$RK_TRACKER_URL" \
    --tracker-pid-file "$RK_TRACKER_PIDFILE" >/dev/null 2>&1
done
rk_start_seeder "$REPO"
MNT=$RK_WORK/mnt
CACHE=$RK_WORK/host-cache
if [[ $HOLDER == systemd ]]; then
  rk_start_systemd_mount host "$MNT" "file://$REPO/" --fetch lazy --takeover-replay "$REPLAY"
  in_mount() { rk_in_mount "$@"; }
  server_pid() { rk_unit_server_pid; }
  wait_takeover() {
    rk_wait_for 30 bash -c "p=\$(pgrep -xf '$RK_UNIT_BIN mount $MNT .*' | head -1); [[ -n \$p && \$p != $1 ]] &&
      '$RK_BIN' status --cache '$CACHE' >/dev/null"
  }
else
  rk_start_mount host "$MNT" "file://$REPO/" --fetch lazy --takeover-replay "$REPLAY"
  in_mount() { "$@"; }
  server_pid() { rk_server_pid "$RK_PID_host"; }
  wait_takeover() { rk_wait_takeover "$RK_PID_host" "$1" "$CACHE" >/dev/null; }
fi
half=$((RELEASES / 2))
rk_log "landing r1..r$half, reading r$((half + 1))..r$RELEASES in part"
for ((i = 1; i <= half; i++)); do
  "$RK_BIN" prefetch "r$i" --cache "$CACHE" --timeout 600 >/dev/null
done
for ((i = half + 1; i <= RELEASES; i++)); do
  in_mount dd if="$MNT/r$i/data/big.bin" of=/dev/null bs=1M count=64 status=none
done
"$RK_BIN" status --cache "$CACHE"

# Two programs reading through the mount for a phase; prints their reports. phase NAME SECONDS [KILLS]
phase() {
  local name=$1 seconds=$2 kills=${3:-0} pids=() f
  rm -f "$RK_WORK/stop"
  for f in landed:r1 partial:r$RELEASES; do
    in_mount "$READER" "$MNT/${f#*:}/data/big.bin" "$SRC/data/big.bin" "$RK_WORK/stop" "$RK_WORK/$name.${f%%:*}" 600 \
      >"$RK_WORK/$name.${f%%:*}.out" 2>&1 &
    pids+=($!)
    RK_PIDS+=($!)
  done
  if ((kills == 0)); then
    sleep "$seconds"
  else
    for ((k = 1; k <= kills; k++)); do
      sleep "$seconds"
      probe >>"$RK_WORK/kills.txt"
    done
    sleep 2
  fi
  touch "$RK_WORK/stop"
  for f in "${pids[@]}"; do wait "$f" || true; done
}

# Kills the serving process and reads 4 KiB of a landed file that is not in the page cache; prints
# the seconds from the kill to the answer, then waits for the new process to answer status.
probe() {
  local old
  old=$(server_pid)
  in_mount /usr/bin/python3 - "$old" "$MNT/r2/data/big.bin" "$SIZE_MIB" <<'PY'
import os, random, signal, sys, time
pid, path, size_mib = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
fd = os.open(path, os.O_RDONLY)
offset = random.randrange(0, size_mib * 256) * 4096
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
start = time.monotonic()
os.kill(pid, signal.SIGKILL)
os.pread(fd, 4096, offset)
print(f"{time.monotonic() - start:.4f}")
PY
  wait_takeover "$old"
}

rk_log "calm phase: 20 s of reads, no kill"
phase calm 20
rk_log "kill phase: $KILLS SIGKILLs, 4 s apart"
: >"$RK_WORK/kills.txt"
phase kills 4 "$KILLS"
"$RK_BIN" status --cache "$CACHE" | head -1

/usr/bin/python3 - "$RK_WORK" "$RELEASES" "$SIZE_MIB" "$KILLS" "$REPLAY" "$OUT" "$HOLDER" <<'PY'
import re, statistics, sys
work, releases, size_mib, kills, replay, out, holder = sys.argv[1:8]
def report(name):
    text = open(f"{work}/{name}").read()
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", text)}
probes = [tuple(float(x) for x in l.split()) for l in open(f"{work}/kills.txt") if l.strip()]
answer = [p[0] for p in probes]
print(f"\n{releases} releases of {size_mib} MiB joined (half landed, half partial), {kills} SIGKILLs of the serving "
      f"process, in-flight replay: {replay}, holder: {holder}\n")
print("| phase | program reading | reads | errors | longest single read |")
print("|---|---|---|---|---|")
for phase in ("calm", "kills"):
    for prog in ("landed", "partial"):
        r = report(f"{phase}.{prog}")
        print(f"| {phase} | {prog} release | {r['reads']} | {r['errors']} ({r['first_error']}) | "
              f"{float(r['longest_stall_ms']):.0f} ms |")
print(f"\nSIGKILL -> first answered read (4 KiB of a landed file, not in the page cache), per kill: "
      + ", ".join(f"{a * 1000:.0f} ms" for a in answer)
      + f"; median {statistics.median(answer) * 1000:.0f} ms, max {max(answer) * 1000:.0f} ms (target <= 1 s)")
PY
