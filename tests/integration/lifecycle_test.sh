#!/usr/bin/env bash
# The mount daemon's life cycle: clean exit on SIGTERM, SIGINT and `fusermount3 -u`; after kill -9,
# a restart on the same mount point and cache recovers the stale mount by itself, shows the release
# again and does not download verified pieces a second time. A seeder started before the first
# publish waits for releases.
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

# A seeder started before the first publish (the packaged unit may be enabled then) waits, saying
# so, and seeds each release as it is published.
NEW_REPO=$RK_WORK/new-origin
"$RK_BIN" seed --repo "$NEW_REPO" --listen "127.0.0.1:$(rk_free_port)" --poll-interval 500 \
  >"$RK_WORK/new-seeder.log" 2>&1 &
NEW_SEEDER=$!
RK_PIDS+=("$NEW_SEEDER")
check "a seeder started before any release waits, saying so" \
  rk_wait_for 10 grep -q "has no release yet" "$RK_WORK/new-seeder.log"
check "and keeps running" kill -0 "$NEW_SEEDER"
"$RK_BIN" publish "$SRC" --repo "$NEW_REPO" --version 9.0 --tracker "$RK_TRACKER_URL" >/dev/null
check "it seeds the first release once published" rk_wait_for 10 grep -q "seeding 9.0" "$RK_WORK/new-seeder.log"
finish
