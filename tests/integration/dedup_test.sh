#!/usr/bin/env bash
# Cross-release dedup on a host: release 2.0 shares most of its content with 1.0 (a library and
# the config changed, a file renamed into a new folder, one added, a symlink removed; the empty
# file, the other symlink and the executable kept). A host holding 1.0 fetches 2.0 and receives
# about what is new; every file of 2.0 is exact and 1.0 is unchanged. In lazy mode an unchanged
# file of 2.0 reads with no peer at all. Garbage collection of 1.0 frees only its own files and
# leaves 2.0 exact. A partial 1.0 gives only its complete files, and a damaged one is fetched again,
# never served. The repository stores the shared content once.
source "$(dirname "$0")/lib.sh"
start_origin 8
SRC_A=$SRC
SRC_B=$RK_WORK/src-b
cp -a "$SRC_A" "$SRC_B"
head -c 1000000 /dev/urandom >"$SRC_B/lib/deep/er/lib.so"            # changed
mkdir -p "$SRC_B/moved" && mv "$SRC_B/data/odd-size.bin" "$SRC_B/moved/odd.bin"  # renamed
head -c 524288 /dev/urandom >"$SRC_B/data/added.bin"                  # added
rm "$SRC_B/config/app.conf" && echo "version=2" >"$SRC_B/config/app.conf"  # changed (tiny)
rm "$SRC_B/lib/shortcut"                                             # removed
NEW=$((1000000 + 524288 + 10))
SRC=$SRC_B
out=$("$RK_BIN" publish "$SRC_B" --repo "$REPO" --version 2.0 --tracker "$RK_TRACKER_URL" \
  --tracker-pid-file "$RK_TRACKER_PIDFILE" --piece-size 262144 2>/dev/null)
check "publish says how much is new against 1.0" grep -q "^new against 1.0: $NEW bytes" <<<"$out"
check_eq "the repository links the unchanged big file" \
  "$(stat -c %i "$REPO/data/1.0/data/big.bin")" "$(stat -c %i "$REPO/data/2.0/data/big.bin")"

rk_start_seeder "$REPO"
MNT=$RK_WORK/mnt
rk_start_mount host "$MNT" "file://$REPO/" --fetch background
CACHE=$RK_WORK/host-cache
check "the host lands 1.0" "$RK_BIN" prefetch 1.0 --cache "$CACHE" --timeout 60
check "and has saved its resume data" rk_wait_for 10 test -s "$CACHE/releases/1.0/resume.dat"
sleep 1  # the save that follows completion
check "the host lands 2.0" "$RK_BIN" prefetch 2.0 --cache "$CACHE" --timeout 60
# prefetch ends the moment the last piece is verified; status.json is the next second's snapshot.
snapshot_landed() { rk_landed host 2.0; }
check "status.json shows 2.0 landed" rk_wait_for 10 snapshot_landed
received=$(rk_status host 2.0 bytes_downloaded_session)
check "2.0 crossed the network as about its new bytes ($received received, $NEW new)" \
  test "$received" -le $((NEW * 11 / 10))
check "status says what came from the cache" test "$(rk_status host 2.0 bytes_from_local)" -ge $((8 * 1024 * 1024))
check "every file of 2.0 is exact" compare_trees "$SRC_B" "$MNT/2.0"
check "1.0 is unchanged and exact" compare_trees "$SRC_A" "$MNT/1.0"
check "the executable stays executable" test -x "$MNT/2.0/bin/hello"
check "the removed entry is gone" test ! -e "$MNT/2.0/lib/shortcut" -a ! -L "$MNT/2.0/lib/shortcut"
check "the shared file is one inode in the cache" test \
  "$(stat -c %i "$CACHE/releases/1.0/data/1.0/data/big.bin")" = "$(stat -c %i "$CACHE/releases/2.0/data/2.0/data/big.bin")"
check "in the metrics too" bash -c "'$RK_BIN' status --cache '$CACHE' --json | python3 -c \"import json,sys; r={x['version']: x for x in json.load(sys.stdin)['releases']}; sys.exit(r['2.0']['bytes_from_local'] < 8388608)\""

# GC evicts 1.0: 2.0 keeps the shared files, exact once the page cache is dropped.
"$RK_BIN" activate 2.0 --link "$RK_WORK/current" --cache "$CACHE" >/dev/null
before=$(du -sB1 "$CACHE/releases" | cut -f1)
"$RK_BIN" gc --cache "$CACHE" --max-bytes 1 >"$RK_WORK/gc.out"
check "gc evicts 1.0" grep -qx "removed 1.0" "$RK_WORK/gc.out"
freed=$(( before - $(du -sB1 "$CACHE/releases" | cut -f1) ))
check "and frees only what 2.0 does not share ($freed bytes freed)" test "$freed" -lt $((3 * 1024 * 1024))
check_eq "the shared file now has one link" "1" "$(stat -c %h "$CACHE/releases/2.0/data/2.0/data/big.bin")"
python3 - "$MNT/2.0" <<'PY'
import os, sys
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        if os.path.isfile(p) and not os.path.islink(p):
            fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
PY
check "2.0 stays exact after 1.0 is gone" compare_trees "$SRC_B" "$MNT/2.0"
kill -TERM "$RK_PID_host"
rk_wait_for 20 bash -c "! kill -0 $RK_PID_host"

# Lazy: an unchanged file of 2.0 needs no peer at all.
rk_start_mount lazy "$MNT" "file://$REPO/" --fetch lazy
LAZY=$RK_WORK/lazy-cache
check "a lazy host lands 1.0" "$RK_BIN" prefetch 1.0 --cache "$LAZY" --timeout 60
check "and saves its resume data" rk_wait_for 10 test -s "$LAZY/releases/1.0/resume.dat"
sleep 1
kill -STOP "$RK_SEEDER_PID"
check "with every peer gone, 2.0's unchanged file reads exactly at once" \
  timeout -s KILL 10 cmp "$MNT/2.0/data/big.bin" "$SRC_B/data/big.bin"
check "and the renamed one" timeout -s KILL 10 cmp "$MNT/2.0/moved/odd.bin" "$SRC_B/moved/odd.bin"
kill -CONT "$RK_SEEDER_PID"
check "the changed file comes from the network" timeout -s KILL 30 cmp "$MNT/2.0/lib/deep/er/lib.so" "$SRC_B/lib/deep/er/lib.so"
kill -TERM "$RK_PID_lazy"
rk_wait_for 20 bash -c "! kill -0 $RK_PID_lazy"

# A partial 1.0: only its complete files are reused. And one of them damaged on disk is never
# served: the piece fails its check at the first read and is fetched again.
rk_start_mount partial "$MNT" "file://$REPO/" --fetch lazy
PART=$RK_WORK/partial-cache
cmp "$MNT/1.0/data/odd-size.bin" "$SRC_A/data/odd-size.bin"
cmp "$MNT/1.0/config/empty" "$SRC_A/config/empty"
head -c 300000 "$MNT/1.0/data/big.bin" >/dev/null
kill -TERM "$RK_PID_partial"  # saves resume data on the way out
rk_wait_for 20 bash -c "! kill -0 $RK_PID_partial"
python3 -c "
with open('$PART/releases/1.0/data/1.0/data/odd-size.bin', 'r+b') as f:
    f.seek(100); b = f.read(1); f.seek(100); f.write(bytes([b[0] ^ 0xff]))"
rk_start_mount partial "$MNT" "file://$REPO/" --fetch lazy
ls "$MNT/2.0" >/dev/null
check "only 1.0's complete file is taken (odd-size.bin, 12345 bytes)" rk_wait_for 5 bash -c \
  "[[ \$('$RK_BIN' status --cache '$PART' --json | python3 -c \"import json,sys; print([r['bytes_from_local'] for r in json.load(sys.stdin)['releases'] if r['version'] == '2.0'][0])\") == 12345 ]]"
check "the damaged copy is not served: the renamed file reads exactly" \
  timeout -s KILL 30 cmp "$MNT/2.0/moved/odd.bin" "$SRC_B/moved/odd.bin"
check "the partial file comes from the network, exact" timeout -s KILL 30 cmp "$MNT/2.0/data/big.bin" "$SRC_B/data/big.bin"
finish
