#!/usr/bin/env bash
# A small fleet on loopback under the faults a large one meets, every host ending with exact bytes:
#  - six hosts fetch a release at once while the origin (serving unique: each piece about once)
#    sends it; one host is killed mid-transfer (the fleet's 10%);
#  - the origin is killed as soon as every piece is held by some host: the hosts finish from each
#    other;
#  - a host joining after the origin is gone reads every file from the others.
source "$(dirname "$0")/lib.sh"
start_origin 24
# 6 MB/s out of the origin: the release (~25 MB) leaves it in about 4 s.
rk_start_seeder "$REPO" --max-upload-rate 6000000
CATALOG=file://$REPO/
# A bound of a few peers could leave a release with only hosts that fail: refused, in one line.
bound_error=$("$RK_BIN" mount "$RK_WORK/mnt-bound" --catalog "$CATALOG" --cache "$RK_WORK/bound-cache" \
  --peers-per-release 3 2>&1 >/dev/null | head -n 1) || true
check_eq "a peer bound of 3 is refused" "--peers-per-release: must be 0 or at least 8" "$bound_error"
HOSTS=(a b c d e)
for h in "${HOSTS[@]}"; do rk_start_mount "$h" "$RK_WORK/mnt-$h" "$CATALOG" --fetch background --upload-slots 4; done
# The host to be killed downloads slowly, so it is surely mid-transfer when it dies.
rk_start_mount doomed "$RK_WORK/mnt-doomed" "$CATALOG" --fetch background --max-download-rate 1000000

for h in "${HOSTS[@]}" doomed; do
  ( "$RK_BIN" prefetch 1.0 --cache "$RK_WORK/$h-cache" --timeout 120 >"$RK_WORK/prefetch-$h.out" 2>&1
    echo $? >"$RK_WORK/prefetch-$h.rc" ) &
done

partial() {
  local v t
  v=$(rk_status doomed 1.0 pieces_verified) t=$(rk_status doomed 1.0 pieces_total)
  [[ -n $v && -n $t ]] && ((v > 0 && v < t))
}
check "a host has part of the release" rk_wait_for 60 partial
kill -KILL "$RK_PID_doomed"
check "that host is killed mid-transfer" rk_wait_for 10 bash -c "! kill -0 $RK_PID_doomed"

check "the origin sees every piece held by some host" \
  rk_wait_for 60 grep -q "every piece is held by a host" "$RK_WORK/seeder.log"
kill -KILL "$RK_SEEDER_PID"
sent=$(grep -o "origin sent [0-9.]*x" "$RK_WORK/seeder.log" | grep -o "[0-9.]*")
check "by then the origin had sent each piece about once (${sent}x the release)" \
  python3 -c "import sys; sys.exit(0 if float('$sent') <= 1.3 else 1)"

for h in "${HOSTS[@]}"; do
  check "host $h completes with the origin gone" rk_wait_for 120 test -s "$RK_WORK/prefetch-$h.rc"
  check_eq "host $h: prefetch exits 0" 0 "$(cat "$RK_WORK/prefetch-$h.rc" 2>/dev/null)"
  check "host $h holds every byte exactly" compare_trees "$SRC" "$RK_WORK/mnt-$h/1.0"
done

rk_start_mount late "$RK_WORK/mnt-late" "$CATALOG" --fetch lazy --read-timeout 60
check "a host joining after the origin is gone reads every file exactly from the others" \
  compare_trees "$SRC" "$RK_WORK/mnt-late/1.0"
finish
