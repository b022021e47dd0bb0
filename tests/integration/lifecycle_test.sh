#!/usr/bin/env bash
# The mount daemon's life cycle: clean exit on SIGTERM, SIGINT and `fusermount3 -u`; after kill -9,
# a restart on the same mount point and cache recovers the stale mount by itself, shows the release
# again and does not download verified pieces a second time.
source "$(dirname "$0")/lib.sh"
start_origin 32
MNT=$RK_WORK/mnt
rk_start_seeder "$REPO"
CATALOG=file://$REPO/

# Waits (bounded) for the daemon PID to exit; its exit status lands in EXIT_STATUS.
wait_exit() {
  EXIT_STATUS=timeout
  rk_wait_for 20 bash -c "! kill -0 $1" || return 0
  wait "$1" 2>/dev/null
  EXIT_STATUS=$?
}

for sig in TERM INT; do
  rk_start_mount life "$MNT" "$CATALOG" --fetch lazy
  cat "$MNT/1.0/config/app.conf" >/dev/null
  kill -"$sig" "$RK_PID_life"
  wait_exit "$RK_PID_life"
  check_eq "SIG$sig: daemon exits with status 0" "0" "$EXIT_STATUS"
  check "SIG$sig: mount point released" bash -c "! grep -qs ' $MNT fuse' /proc/mounts"
done

rk_start_mount life "$MNT" "$CATALOG" --fetch lazy
ls "$MNT" >/dev/null
fusermount3 -u "$MNT"
wait_exit "$RK_PID_life"
check_eq "fusermount3 -u: daemon exits with status 0" "0" "$EXIT_STATUS"

# Land the whole release, then kill -9 while mounted.
rk_start_mount life "$MNT" "$CATALOG" --fetch background
check "release lands" compare_trees "$SRC" "$MNT/1.0"
check "all pieces verified before the kill" rk_wait_for 5 rk_landed life 1.0
kill -KILL "$RK_PID_life"
wait "$RK_PID_life" 2>/dev/null
rm -f "$RK_WORK/life-cache/status.json"  # what the restarted daemon reports must be its own
check_errno "the killed daemon leaves a stale mount (ENOTCONN)" ENOTCONN "os.stat('$MNT')"

rk_start_mount life "$MNT" "$CATALOG" --fetch background
check "restart recovers the stale mount point" grep -q "detached a stale mount" "$RK_WORK/life.log"
check "the release reappears with the same bytes" compare_trees "$SRC" "$MNT/1.0"
check "after restart every piece is verified from the cache" rk_wait_for 5 rk_landed life 1.0
check_eq "and nothing was downloaded again" "0" "$(rk_status life 1.0 bytes_downloaded_session)"

# kill -9 in mid-download: verified pieces are not downloaded again after the restart.
publish --version 2.0
kill -TERM "$RK_SEEDER_PID"
rk_wait_for 20 bash -c "! kill -0 $RK_SEEDER_PID"
rk_start_seeder "$REPO" --max-upload-rate 4000000
ls "$MNT/2.0" >/dev/null
partly() { local v; v=$(rk_status life 2.0 pieces_verified); [[ -n $v ]] && ((v > 20)); }
check "2.0 is partly downloaded" rk_wait_for 60 partly
kill -STOP "$RK_SEEDER_PID"  # freeze the transfer so the next resume save covers every verified piece
sleep 6.5
verified=$(rk_status life 2.0 pieces_verified)
total=$(rk_status life 2.0 pieces_total)
kill -KILL "$RK_PID_life"
wait "$RK_PID_life" 2>/dev/null
kill -CONT "$RK_SEEDER_PID"
rk_start_mount life "$MNT" "$CATALOG" --fetch background
check "2.0 completes after the restart" compare_trees "$SRC" "$MNT/2.0"
sleep 1.2
downloaded=$(rk_status life 2.0 bytes_downloaded_session)
missing_bytes=$(((total - verified) * 262144))
check "only the $((total - verified)) pieces not verified before kill -9 were downloaded again ($downloaded bytes <= $missing_bytes)" \
  test "$downloaded" -le "$missing_bytes"
finish
