#!/usr/bin/env bash
# systemd holds the mount: the packaged unit (packaging/systemd/rookery-mount.service, with a
# drop-in for this test's paths) under a real systemd, PID 1 of a throwaway container on this
# host's network. A program started from the mount (rookery_steady_reader, shipped in the release)
# reads a 32 MiB file of the partial (lazy) release, checking every byte, while
#   1. the service's process is SIGKILLed five times (systemd restarts it with the stored
#      descriptors, the new process takes the connection over),
#   2. `systemctl reload` rolls out a freshly copied binary,
# and the program sees no error. Then `systemctl stop` unmounts and empties the store, and a unit
# that fails (a binary on disk that cannot start, five times in 10 s) aborts the mount: a program
# holding a file gets ENOTCONN, not a hang.
source "$(dirname "$0")/lib.sh"
start_takeover_origin
CACHE=$RK_WORK/sd-cache
LOG=$RK_WORK/sd.log
REPORT=$RK_WORK/steady.report
rk_start_seeder "$REPO" --max-upload-rate 6000000

RK_BIN=$MOUNT_BIN rk_start_systemd_mount sd "$MNT" "file://$REPO/" --fetch lazy --metrics-file "$RK_WORK/sd.prom" \
  --takeover-replay journal || { fail "the packaged unit starts under systemd in a container"; finish; exit 1; }
pass "systemctl start: the unit is ready (Type=notify)"
main_pid() { rk_systemctl show -P MainPID rookery-mount; }
stored() { rk_systemctl show -P NFileDescriptorStore rookery-mount; }
server_field() { "$RK_BIN" status --cache "$CACHE" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['server']['$1'])"; }
report_field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1" 2>/dev/null; }
reads_beyond() { rk_wait_for 20 bash -c "r=\$(sed -n 's/.*reads=\([0-9]*\).*/\1/p' '$REPORT'); ((r > $1 + 4))"; }
# A new main process that answers on the control socket as the serving process. Both pids must
# be numbers: a systemctl that fails during the restart prints nothing, and so does a status
# that finds no daemon, and two empty strings are equal.
wait_new_server() {
  rk_wait_for 30 bash -c "p=\$(nsenter -t $RK_SYSTEMD_PID -m -- systemctl show -P MainPID rookery-mount);
    [[ \$p =~ ^[1-9][0-9]*\$ && \$p != $1 ]] && [[ \$('$RK_BIN' status --cache '$CACHE' --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[\"server\"][\"pid\"])' 2>/dev/null) == \$p ]]"
}
# The serving process answers status from before it counts its takeover: wait for the count.
takeovers_are() {
  rk_wait_for 10 bash -c "[[ \$('$RK_BIN' status --cache '$CACHE' --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[\"server\"][\"takeovers\"])' 2>/dev/null) == $1 ]]"
}

check "the process says it mounted" grep -q "mounted at $MNT" "$LOG"
check_eq "systemd holds the connection and the takeover state" "2" "$(stored)"

# --- 1 and 2: SIGKILL five times, then a reload to a new binary, under a running program ------
rk_in_mount "$MNT/1.1/bin/steady_reader" "$BIG" "$SRC/data/big.bin" "$RK_WORK/steady.stop" "$REPORT" 240 \
  >"$RK_WORK/steady.out" 2>&1 &
READER=$!
RK_PIDS+=("$READER")
check "the program started from the mount reads" rk_wait_for 20 bash -c "r=\$(sed -n 's/.*reads=\([0-9]*\).*/\1/p' '$REPORT'); [[ -n \$r ]] && ((r > 20))"
for i in $(seq 1 5); do
  sleep "1.$((RANDOM % 9 + 1))"
  old=$(main_pid)
  before=$(report_field "$REPORT" reads)
  rk_systemctl kill -s KILL --kill-who=main rookery-mount
  wait_new_server "$old" || { fail "kill $i: systemd restarts the process and it takes over"; break; }
  reads_beyond "$before" || fail "kill $i: the program reads on after the takeover"
done
if takeovers_are 5; then pass "five takeovers counted"; else
  fail "five takeovers counted" "got $(server_field takeovers 2>&1); the unit's log: $(grep -E 'error|warn|took the mount|mounted' "$LOG" | tail -12)"
fi
check_eq "the store still holds both descriptors" "2" "$(stored)"
check_eq "the program saw no error across five SIGKILLs" "0" "$(report_field "$REPORT" errors)"

cp "$RK_BIN" "$RK_WORK/bin/rookery.new"
mv "$RK_WORK/bin/rookery.new" "$MOUNT_BIN"
old=$(main_pid)
restarts=$(rk_systemctl show -P NRestarts rookery-mount)
before=$(report_field "$REPORT" reads)
check "systemctl reload rolls the binary on disk out" timeout -s KILL 60 nsenter -t "$RK_SYSTEMD_PID" -m -p -- \
  systemctl reload rookery-mount
check "a new process serves" wait_new_server "$old"
check "it runs the binary now on disk" rk_wait_for 10 bash -c \
  "[[ \$(readlink /proc/\$(pgrep -xf '$RK_UNIT_BIN mount $MNT .*' | head -1)/exe) == '$MOUNT_BIN' ]]"
check_eq "one restart for the reload" "$((restarts + 1))" "$(rk_systemctl show -P NRestarts rookery-mount)"
check "the program reads on after the reload" reads_beyond "$before"
check "six takeovers counted" takeovers_are 6
check "in the metrics too" rk_wait_for 5 grep -qx "rookery_takeovers_total 6" "$RK_WORK/sd.prom"
stop_steady_reader "$READER" "$REPORT" "$RK_WORK/steady.stop"
check "the whole release is exact through the mount" rk_in_mount diff -r "$SRC" "$MNT/1.1"

# --- 3: stop unmounts and empties the store -----------------------------------------------------
mounted() { grep -qs " $MNT fuse" "/proc/$RK_SYSTEMD_PID/mounts"; }
check "systemctl stop" timeout -s KILL 60 nsenter -t "$RK_SYSTEMD_PID" -m -p -- systemctl stop rookery-mount
check "the mount is gone" bash -c "! grep -qs ' $MNT fuse' /proc/$RK_SYSTEMD_PID/mounts"
check_eq "the store is empty" "0" "$(stored)"
check "the process said so" grep -q "unmounted $MNT" "$LOG"

# --- 4: a unit that fails aborts the mount, loudly ----------------------------------------------
check "systemctl start again" timeout -s KILL 60 nsenter -t "$RK_SYSTEMD_PID" -m -p -- systemctl start rookery-mount
check "mounted again" mounted
hold_open "$MNT/1.1/config/app.conf" rk_in_mount
printf '#!/bin/sh\necho "broken build" >&2\nexit 3\n' >"$RK_WORK/bin/broken"
chmod +x "$RK_WORK/bin/broken"
mv "$RK_WORK/bin/broken" "$MOUNT_BIN"
rk_systemctl kill -s KILL --kill-who=main rookery-mount
check "the unit fails after its start limit" rk_wait_for 30 rk_systemctl is-failed -q rookery-mount
check_eq "its store is emptied" "0" "$(stored)"
touch "$RK_WORK/go"
wait "$HOLDER"
check_eq "a program holding a file gets ENOTCONN, not a hang" "ENOTCONN" "$(cat "$RK_WORK/held.out")"
finish
