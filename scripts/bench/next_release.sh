#!/usr/bin/env bash
# "Next release" deploy in the swarm lab (scripts/lab/lab.sh): N hosts hold release 1.0 completely;
# 2.0 is published (the same FILES files but two replaced: about 5% new bytes) and every host
# prefetches it at once. Measured: time until the last host has every piece of 2.0 verified, and
# the bytes the origin sent. Baseline in the same lab and run: the same deploy of 2.0 to hosts that
# do not hold 1.0 (fresh caches), which is what every host gets without dedup.
#
#   scripts/bench/next_release.sh [--hosts "16"] [--size-mib 64] [--mbit 50] [--files 40] [--rounds 1]
#                                 [--out DIR]
# --rounds K repeats both deploys K times, each round in a lab built afresh, and adds the median
# and the spread over the rounds (this deploy of a few MiB varies by a third from run to run here).
# RK_DAEMON_ARGS adds options to the mount daemons.
set -euo pipefail
cd "$(dirname "$0")/../.."
HOSTS=16
SIZE_MIB=64
MBIT=50
FILES=40
ROUNDS=1
source scripts/bench/fleet_lib.sh
while (($#)); do
  case $1 in
    --files) FILES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) fleet_option "$@"; shift "$FLEET_SHIFT" ;;
  esac
done
fleet_init "$OUT" next_release "$TIMELINE"
file_kib=$((SIZE_MIB * 1024 / FILES))
for ((f = 1; f <= FILES; f++)); do head -c $((file_kib * 1024)) /dev/urandom >"$SRC/part$f.bin"; done
SRC_B=$RK_WORK/src-b
cp -a "$SRC" "$SRC_B"
for f in 1 2; do head -c $((file_kib * 1024)) /dev/urandom >"$SRC_B/part$f.bin"; done
NEW_BYTES=$((2 * file_kib * 1024))

start_hosts() {  # start_hosts RUN [ARGS]: a mount daemon per host (ARGS: more options); sets DAEMONS
  local i
  DAEMONS=()
  for ((i = 1; i <= N; i++)); do
    # shellcheck disable=SC2086  # RK_DAEMON_ARGS: words
    lab_start_mount "$i" "$1/mnt-$i" "$1/cache-$i" "$1/mount-$i.log" --fetch background ${RK_DAEMON_ARGS:-} "${@:2}"
    DAEMONS+=("$LAB_MOUNT_PID")
  done
  for ((i = 1; i <= N; i++)); do rk_wait_for 20 test -S "$1/cache-$i/control.sock"; done
}

prefetch_all() {  # prefetch_all RUN VERSION: every host at once; a .done stamp each
  local i
  for ((i = 1; i <= N; i++)); do
    (timeout "$limit" "$RK_BIN" prefetch "$2" --cache "$1/cache-$i" >/dev/null 2>&1 && fleet_stamp "$1/$i.done") &
  done
  fleet_wait "$1" "$limit"
}

run_next_release() {
  limit=$LIMIT
  ((limit > 0)) || limit=$(awk -v b="$BOUND_S" 'BEGIN {print int(10 * b + 30)}')
  fleet_seed
  local setup dedup fresh
  setup=$(fleet_run setup)
  start_hosts "$setup"
  rk_log "N=$N: every host lands 1.0 (not measured)"
  FLEET_SECONDS0=$SECONDS
  prefetch_all "$setup" 1.0
  fleet_have "$setup" done || { rk_log "not every host landed 1.0"; return 1; }
  sleep 2  # resume data is saved when a release completes
  lab_publish "$SRC_B" "$REPO" 2.0 "$PIECE_USED"
  rk_wait_for 20 grep -q "seeding 2.0" "$REPO.seed.log" || { rk_log "the seeder did not pick 2.0 up"; return 1; }

  dedup=$(fleet_run dedup)
  fleet_begin dedup "$FLEET_SEEDER" "${DAEMONS[@]}"
  for ((i = 1; i <= N; i++)); do ln -s "$setup/cache-$i" "$dedup/cache-$i"; done
  prefetch_all "$dedup" 2.0
  fleet_end "$dedup"
  fleet_stop "${DAEMONS[@]}"

  fresh=$(fleet_run fresh)
  # The hosts that hold 1.0 have run since before 2.0 was published, so their join fetches 2.0's
  # torrent at the deploy. Daemons started now would find it in the catalog at once and keep it
  # ready (the catalog watch, `--catalog-poll`); without the watch they join as those did.
  start_hosts "$fresh" --catalog-poll 0
  fleet_begin "without-dedup" "$FLEET_SEEDER" "${DAEMONS[@]}"
  prefetch_all "$fresh" 2.0
  fleet_end "$fresh"
  fleet_stop "${DAEMONS[@]}" "$FLEET_SEEDER"
  rm -rf "$setup"/cache-* "$fresh"/cache-*
}
for ((round = 1; round <= ROUNDS; round++)); do
  ((ROUNDS == 1)) || rk_log "round $round of $ROUNDS"
  rm -rf "$RK_WORK"/repo-* "$RK_WORK"/run-*  # a round starts from an empty repository and runs
  fleet_labs "$HOSTS" "$MBIT" "$SRC" "$PIECE" run_next_release
done

/usr/bin/python3 - "$FLEET_RESULTS" "$SIZE_MIB" "$NEW_BYTES" "$FLEET_OUT" <<'PY' | tee "$FLEET_OUT/next_release.md"
import statistics, sys
results, size_mib, new_bytes, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
runs = {}  # (n, mbit) -> rounds in order, each {mode: (sent, times)}
for line in open(results):
    f = line.split()
    n, mbit, mode, sent = int(f[0]), int(f[1]), f[2], int(f[5])
    times = [float(t) for t in f[12].split(",")] if f[12] != "-" else []
    rounds = runs.setdefault((n, mbit), [])
    if not rounds or mode in rounds[-1]: rounds.append({})
    rounds[-1][mode] = (sent, times)
F = size_mib * 1048576
print(f"\nNext release: 2.0 = 1.0 with {new_bytes / 2**20:.1f} MiB of {size_mib} MiB new ({100 * new_bytes / F:.1f}%), every host at once\n")
print("| hosts N | link | deploy of 2.0 | hosts done | time (last host) | origin sent | origin sent / new bytes | time vs without dedup | origin bytes vs without dedup | first / median host |")
print("|---|---|---|---|---|---|---|---|---|---|")
summaries = []
for (n, mbit), rounds in sorted(runs.items()):
    time_pcts, byte_pcts = [], []
    for k, rnd in enumerate(rounds, 1):
        base = rnd.get("without-dedup")
        for mode, name in (("dedup", "hosts hold 1.0 (dedup)"), ("without-dedup", "hosts without 1.0 (baseline)")):
            if mode not in rnd: continue
            sent, times = rnd[mode]
            last = max(times) if times else float("nan")
            t_ratio = last / max(base[1]) if base and base[1] and times else float("nan")
            b_ratio = sent / base[0] if base and base[0] else float("nan")
            if mode == "dedup": time_pcts.append(100 * t_ratio); byte_pcts.append(100 * b_ratio)
            spread = f"{min(times):.2f} / {statistics.median(times):.2f} s" if times else "-"
            label = name if len(rounds) == 1 else f"{name}, round {k}"
            print(f"| {n} | {mbit} Mbit/s | {label} | {len(times)}/{n} | {last:.2f} s | {sent / 2**20:.1f} MiB | "
                  f"{sent / new_bytes:.2f}x | {t_ratio * 100:.1f}% | {b_ratio * 100:.1f}% | {spread} |")
    if len(time_pcts) > 1:
        within = sum(1 for t in time_pcts if t <= 10)
        summaries.append(f"{n} hosts at {mbit} Mbit/s, {len(time_pcts)} rounds: time {statistics.median(time_pcts):.1f}% of the "
                         f"deploy without dedup in the median ({min(time_pcts):.1f}-{max(time_pcts):.1f}%), {within} of "
                         f"{len(time_pcts)} within 10%; origin bytes {statistics.median(byte_pcts):.1f}% in the median "
                         f"({min(byte_pcts):.1f}-{max(byte_pcts):.1f}%)")
for line in summaries: print(f"\n{line}")
PY
