#!/usr/bin/env bash
# The mount survives its serving process. A program started from the mount (rookery_steady_reader,
# shipped inside the release) holds a 32 MiB file of it open and mapped and keeps reading it with
# pread and page faults, checking every byte, while:
#   1. the serving process is killed with SIGKILL ten times at random moments (idle and mid-read,
#      the release partial: lazy mode, seeder rate-limited; reads wait for pieces in the first
#      seconds only, so one or two of the kills find one waiting: a read stalled in flight at a kill
#      is made certain below);
#   2. it is stopped alone with SIGTERM, and replaced on purpose by `rookery upgrade` with a fresh
#      binary put on disk;
# and the program sees no error, no SIGBUS, no wrong byte. Then, for both ways of answering the
# requests a dead process had read (the journal, forced, and the kernel's FUSE_NOTIFY_RESEND
# where this kernel has it), a read stalled in flight at the kill completes with exact bytes.
# A file held open but unread across a takeover keeps its release from garbage collection.
# An upgrade to a binary that cannot serve goes on with the supervisor's own binary.
# Last, a successor that cannot take over within --takeover-timeout aborts the mount: callers get
# ENOTCONN, never a hang, and the supervisor says why in one line.
source "$(dirname "$0")/lib.sh"
start_takeover_origin

report_field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1" 2>/dev/null; }
server_field() { "$RK_BIN" status --cache "$CACHE" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['server']['$1'])"; }

# --- 1 and 2: SIGKILL ten times, then an upgrade, under a running program ----------------------
rk_start_seeder "$REPO" --max-upload-rate 6000000
RK_BIN=$MOUNT_BIN rk_start_mount steady "$MNT" "file://$REPO/" --fetch lazy --metrics-file "$RK_WORK/steady.prom"
SUP=$RK_PID_steady
CACHE=$RK_WORK/steady-cache
REPORT=$RK_WORK/steady.report
"$MNT/1.1/bin/steady_reader" "$BIG" "$SRC/data/big.bin" "$RK_WORK/steady.stop" "$REPORT" 240 \
  >"$RK_WORK/steady.out" 2>&1 &
READER=$!
RK_PIDS+=("$READER")
check "the program started from the mount reads" rk_wait_for 20 bash -c "r=\$(sed -n 's/.*reads=\([0-9]*\).*/\1/p' '$REPORT'); [[ -n \$r ]] && ((r > 20))"
partial_during_kills=0
for i in $(seq 1 10); do
  sleep "1.$((RANDOM % 9 + 1))"  # a random moment (a process dying within 1 s of serving counts as failing)
  old=$(rk_server_pid "$SUP")
  before=$(report_field "$REPORT" reads)
  waiting=$("$RK_BIN" status --cache "$CACHE" --json 2>/dev/null |
    python3 -c "import json,sys; r=json.load(sys.stdin)['releases']; print(sum(x['reads_waiting'] for x in r), sum(x['pieces_verified']<x['pieces_total'] for x in r))" 2>/dev/null)
  [[ ${waiting#* } -gt 0 ]] && partial_during_kills=$((partial_during_kills + 1))
  kill -KILL "$old"
  new=$(rk_wait_takeover "$SUP" "$old" "$CACHE") || { fail "kill $i: a new serving process takes over"; break; }
  rk_wait_for 20 bash -c "r=\$(sed -n 's/.*reads=\([0-9]*\).*/\1/p' '$REPORT'); ((r > $before + 4))" ||
    fail "kill $i: the program reads on after the takeover (pid $old -> $new, reads waiting at the kill: ${waiting% *})"
done
check_eq "the release was partial at every kill" "10" "$partial_during_kills"
check_eq "ten takeovers counted" "10" "$(server_field takeovers)"
check_eq "the program saw no error across ten SIGKILLs" "0" "$(report_field "$REPORT" errors)"

# SIGTERM to the serving process alone (not the supervisor): it is replaced, the mount stays.
old=$(rk_server_pid "$SUP")
before=$(report_field "$REPORT" reads)
kill -TERM "$old"
new=$(rk_wait_takeover "$SUP" "$old" "$CACHE") || fail "SIGTERM of the serving process: a new one takes over"
check "the program reads on after a SIGTERM of the serving process" rk_wait_for 20 bash -c \
  "r=\$(sed -n 's/.*reads=\([0-9]*\).*/\1/p' '$REPORT'); ((r > $before + 4))"

# An upgrade: a freshly copied binary (a new file) replaces the one the mount runs.
cp "$RK_BIN" "$RK_WORK/bin/rookery.new"
mv "$RK_WORK/bin/rookery.new" "$MOUNT_BIN"
old=$(rk_server_pid "$SUP")
before=$(report_field "$REPORT" reads)
check "rookery upgrade replaces the serving process" "$RK_BIN" upgrade --cache "$CACHE" --timeout 30
new=$(rk_server_pid "$SUP")
check "the new serving process is another process" test "$new" != "$old"
check_eq "and runs the binary now on disk" "$MOUNT_BIN" "$(readlink "/proc/$new/exe")"
check "the program reads on after the upgrade" rk_wait_for 20 bash -c \
  "r=\$(sed -n 's/.*reads=\([0-9]*\).*/\1/p' '$REPORT'); ((r > $before + 4))"
check_eq "twelve takeovers counted" "12" "$(server_field takeovers)"
check "in the metrics too" rk_wait_for 5 grep -qx "rookery_takeovers_total 12" "$RK_WORK/steady.prom"
stop_steady_reader "$READER" "$REPORT" "$RK_WORK/steady.stop"
check_eq "no error reported" "none" "$(report_field "$REPORT" first_error)"
check "the whole release is still exact through the mount" compare_trees "$SRC" "$MNT/1.1"
kill -TERM "$SUP"
rk_wait_for 20 bash -c "! kill -0 $SUP" || fail "the supervisor stops on SIGTERM"
check "the mount point is released" bash -c "! grep -qs ' $MNT fuse' /proc/mounts"

# --- 3: a read stalled in flight at the kill, for each way of replaying it -------------------
stalled_read() {  # prints the sha256 of 64 KiB at offset 20 MiB + 4 KiB of big.bin, read through the mount
  timeout -s KILL 60 python3 -c "
import hashlib
with open('$BIG', 'rb') as f:
    f.seek(20 * 2**20 + 4096)
    print(hashlib.sha256(f.read(65536)).hexdigest())"
}
want=$(python3 -c "
import hashlib
with open('$SRC/data/big.bin', 'rb') as f:
    f.seek(20 * 2**20 + 4096)
    print(hashlib.sha256(f.read(65536)).hexdigest())")
declare -A used
for replay in journal auto; do
  rm -rf "$RK_WORK/stall-cache"
  rk_start_mount stall "$MNT" "file://$REPO/" --fetch lazy --takeover-replay "$replay"
  SUP=$RK_PID_stall
  CACHE=$RK_WORK/stall-cache
  head -c 4096 "$MNT/1.1/config/app.conf" >/dev/null  # joined, peers connected
  kill -STOP "$RK_SEEDER_PID"
  stalled_read >"$RK_WORK/stalled.$replay" &
  reader=$!
  parked() { [[ $("$RK_BIN" status --cache "$CACHE" --json | python3 -c "import json,sys; print(sum(r['reads_waiting'] for r in json.load(sys.stdin)['releases']))") -gt 0 ]]; }
  check "$replay: the read waits for a piece nobody can send" rk_wait_for 15 parked
  old=$(rk_server_pid "$SUP")
  kill -KILL "$old"
  new=$(rk_wait_takeover "$SUP" "$old" "$CACHE") || fail "$replay: a new serving process takes over"
  sleep 1
  kill -CONT "$RK_SEEDER_PID"
  wait "$reader"
  check_eq "$replay: the read stalled at the kill completes with the right bytes" "$want" "$(cat "$RK_WORK/stalled.$replay")"
  check "$replay: the successor answered it again" test "$(server_field replayed_requests)" -ge 1
  used[$replay]=$(server_field inflight_replay)
  kill -TERM "$SUP"
  rk_wait_for 20 bash -c "! kill -0 $SUP"
done
check_eq "--takeover-replay journal uses the journal" "journal" "${used[journal]}"
# FUSE_HAS_RESEND came with Linux 6.9 (FUSE 7.40); older kernels (Debian 12's 6.1) take the journal in auto mode too.
IFS=. read -r kmajor kminor _ <<<"$(uname -r)"
expect=journal
((kmajor > 6 || (kmajor == 6 && kminor >= 9))) && expect=resend
check_eq "auto on Linux $(uname -r) uses $expect" "$expect" "${used[auto]}"

# --- 3b: a file held open but unread across a takeover keeps its release from GC --------------
rm -rf "$RK_WORK/gc-cache"
rk_start_mount gc "$MNT" "file://$REPO/" --fetch lazy
SUP=$RK_PID_gc
CACHE=$RK_WORK/gc-cache
cat "$MNT/1.0/config/app.conf" "$MNT/1.1/config/app.conf" >/dev/null  # both joined
timeout -s KILL 60 python3 -c "
import os, time
fd = os.open('$MNT/1.1/lib/deep/er/lib.so', os.O_RDONLY)
open('$RK_WORK/gc-held', 'w').close()
while not os.path.exists('$RK_WORK/gc-go'): time.sleep(0.05)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
data = b''
while len(data) < 1000000:
    chunk = os.pread(fd, 1000000 - len(data), len(data))
    if not chunk: break
    data += chunk
open('$RK_WORK/gc-read', 'wb').write(data)" >"$RK_WORK/gc-holder.out" 2>&1 &
holder=$!
rk_wait_for 10 test -e "$RK_WORK/gc-held"
old=$(rk_server_pid "$SUP")
kill -KILL "$old"
rk_wait_takeover "$SUP" "$old" "$CACHE" >/dev/null || fail "gc: a new serving process takes over"
"$RK_BIN" gc --cache "$CACHE" --max-bytes 1 >"$RK_WORK/gc.out" 2>&1
check "gc after the takeover evicts the release nobody holds" grep -qx "removed 1.0" "$RK_WORK/gc.out"
check "but not the one a program holds open (opened before the takeover, unread since)" \
  bash -c "! grep -qx 'removed 1.1' '$RK_WORK/gc.out'"
touch "$RK_WORK/gc-go"
wait "$holder"
check "the held file then reads exactly" cmp "$RK_WORK/gc-read" "$SRC/lib/deep/er/lib.so"
kill -TERM "$SUP"
rk_wait_for 20 bash -c "! kill -0 $SUP" || fail "the supervisor stops on SIGTERM"

# --- 4: an upgrade to a binary that cannot serve keeps the mount on the old one ---------------
rm -rf "$RK_WORK/fallback-cache"
RK_BIN=$MOUNT_BIN rk_start_mount fallback "$MNT" "file://$REPO/" --fetch lazy
SUP=$RK_PID_fallback
CACHE=$RK_WORK/fallback-cache
cat "$MNT/1.1/config/app.conf" >/dev/null
cp "$MOUNT_BIN" "$RK_WORK/bin/rookery.good"
printf '#!/bin/sh\necho "broken build" >&2\nexit 3\n' >"$RK_WORK/bin/broken"
chmod +x "$RK_WORK/bin/broken"
mv "$RK_WORK/bin/broken" "$MOUNT_BIN"
check "rookery upgrade to a broken binary still ends with a serving process" \
  "$RK_BIN" upgrade --cache "$CACHE" --timeout 30
check "the supervisor says it went on with its own binary" grep -q "the new binary .* before serving: the mount goes on" \
  "$RK_WORK/fallback.log"
check "and the release reads exactly" compare_trees "$SRC" "$MNT/1.1"
mv "$RK_WORK/bin/rookery.good" "$MOUNT_BIN"
kill -TERM "$SUP"
rk_wait_for 20 bash -c "! kill -0 $SUP" || fail "the supervisor stops on SIGTERM"

# --- 5: a successor that cannot take over aborts the mount, loudly ----------------------------
RK_BIN=$MOUNT_BIN rk_start_mount stuck "$MNT" "file://$REPO/" --fetch lazy --takeover-timeout 3
SUP=$RK_PID_stuck
CACHE=$RK_WORK/stuck-cache
cat "$MNT/1.1/config/app.conf" >/dev/null
hold_open "$MNT/1.1/config/app.conf"
printf '#!/bin/sh\nexec sleep 600\n' >"$RK_WORK/bin/stuck"
chmod +x "$RK_WORK/bin/stuck"
mv "$RK_WORK/bin/stuck" "$MOUNT_BIN"  # the next serving process never answers
kill -KILL "$(rk_server_pid "$SUP")"
check "the supervisor gives up after the takeover timeout" rk_wait_for 15 bash -c "! kill -0 $SUP"
wait "$SUP"
check_eq "and exits 1" "1" "$?"
check "with one line saying why" grep -q "aborted: the serving process .* did not answer requests within 3 s" "$RK_WORK/stuck.log"
touch "$RK_WORK/go"
wait "$HOLDER"
check_eq "a program holding a file gets ENOTCONN, not a hang" "ENOTCONN" "$(cat "$RK_WORK/held.out")"
check "no process of the aborted mount is left" bash -c "! pgrep -f '^sleep 600'"
finish
