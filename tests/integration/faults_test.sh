#!/usr/bin/env bash
# Faults, each injected for real and checked byte for byte: the web seed alone (no seeder), the
# seeder killed mid-transfer, a peer serving corrupted data, a full cache disk, the tracker down,
# a read timeout, the catalog offline (also across a daemon restart).
source "$(dirname "$0")/lib.sh"
start_origin 24
rk_start_nginx "$REPO"
CATALOG=$RK_CATALOG_URL
publish --version web --base-url "$CATALOG"
stopped() { rk_wait_for 20 bash -c "! kill -0 $1"; }

# 1. No seeder and no peer: the web seed (nginx serving REPO/data) alone completes the release.
rk_start_mount web-only "$RK_WORK/web-only" "$CATALOG" --fetch background
check "with no seeder, the web seed completes the release" compare_trees "$SRC" "$RK_WORK/web-only/web"

# 2. The seeder dies mid-transfer: hosts finish from each other and from the web seed.
rk_start_seeder "$REPO" --max-upload-rate 4000000
rk_start_mount a "$RK_WORK/a" "$CATALOG" --fetch background
rk_start_mount b "$RK_WORK/b" "$CATALOG" --fetch background
ls "$RK_WORK/a/1.0" "$RK_WORK/b/1.0" "$RK_WORK/a/web" "$RK_WORK/b/web" >/dev/null
sleep 2
kill -KILL "$RK_SEEDER_PID"
check "seeder killed mid-transfer ($(rk_status a 1.0 pieces_verified) of $(rk_status a 1.0 pieces_total) pieces on host a)" \
  test "$(rk_status a 1.0 pieces_verified)" -lt "$(rk_status a 1.0 pieces_total)"
check "host a completes the release" compare_trees "$SRC" "$RK_WORK/a/web"
check "host b completes it too" compare_trees "$SRC" "$RK_WORK/b/web"

# 3. A peer serves corrupted data. Host a lands 1.0 (no web seed), then its cache file is damaged
# behind its back and it restarts trusting its resume data, so it offers the damaged pieces. Host c
# reads with a as its only source: the pieces fail the hash check and are discarded, a is banned,
# and once the seeder is back c completes with exact bytes. Host a itself never serves its readers a
# damaged byte: its own verification finds the damage and fetches the pieces again.
rk_start_seeder "$REPO"
check "host a lands 1.0" compare_trees "$SRC" "$RK_WORK/a/1.0"
sleep 1.5  # resume data is saved when a release completes
kill -TERM "$RK_SEEDER_PID" "$RK_PID_a" "$RK_PID_b"
stopped "$RK_SEEDER_PID" && stopped "$RK_PID_a" && stopped "$RK_PID_b"
python3 - "$RK_WORK/a-cache/releases/1.0/data/1.0/data/big.bin" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    for off in range(0, 24 << 20, 1 << 20):  # one damaged 4 KiB run in every MiB
        f.seek(off + 1000)
        f.write(b"CORRUPT!" * 512)
PY
rk_start_mount a "$RK_WORK/a" "$CATALOG" --fetch background
ls "$RK_WORK/a/1.0" >/dev/null
rk_start_mount c "$RK_WORK/c" "$CATALOG" --fetch lazy
(compare_trees "$SRC" "$RK_WORK/c/1.0" >"$RK_WORK/c-compare.txt" 2>&1; echo $? >>"$RK_WORK/c-compare.txt") &
check "host c discards pieces that fail their hash check" rk_wait_for 30 grep -q "failed its hash check" "$RK_WORK/c.log"
check "host c bans the peer that sent them" rk_wait_for 30 grep -q "banned peer" "$RK_WORK/c.log"
check "host c reports that it gains nothing, and from how many peers" \
  rk_wait_for 30 grep -qE "release 1.0: no piece gained for 3 s \([0-9]+ of [0-9]+ held\): [0-9]+ peers, 0 have pieces it wants" "$RK_WORK/c.log"
rk_start_seeder "$REPO"
check "and when it gains pieces again" rk_wait_for 30 grep -q "release 1.0: gaining pieces again after" "$RK_WORK/c.log"
rk_wait_for 120 grep -qx '[0-9]*' "$RK_WORK/c-compare.txt"
check_eq "host c ends with exact bytes" "0" "$(tail -1 "$RK_WORK/c-compare.txt")"
check "host a detects its damaged cache" rk_wait_for 30 grep -q "rechecking the whole cache" "$RK_WORK/a.log"
# Until the recheck has found them, reads of the damaged pieces on a fail with EIO (never bad bytes).
check "host a fetches the damaged pieces again and serves exact bytes" rk_wait_for 120 compare_trees "$SRC" "$RK_WORK/a/1.0"

# 4. The cache disk fills up: reads of missing pieces fail with EIO (logged, no crash); after space
# is freed the release completes correctly.
rk_tmpfs "$RK_WORK/full-cache" 12m
rk_start_mount full "$RK_WORK/full" "$CATALOG" --fetch background
check_errno "reading past what fits in the cache fails with EIO" EIO \
  "open('$RK_WORK/full/web/data/big.bin','rb').read()"
check "the storage error is logged" grep -q "release web: cannot write the cache" "$RK_WORK/full.log"
check "the daemon survives" kill -0 "$RK_PID_full"
mount -o remount,size=200m "$RK_WORK/full-cache"
check "after space is freed the daemon resumes storing pieces" \
  rk_wait_for 60 grep -q "release web: the cache is writable again" "$RK_WORK/full.log"
check "and the release lands" rk_wait_for 120 rk_landed full web
# Pieces whose writes failed may still be re-verified or refetched for a few seconds after that.
check "with exact bytes" rk_wait_for 60 compare_trees "$SRC" "$RK_WORK/full/web"

# 5. The tracker is down: a new host completes through the web seed.
kill -KILL "$(cat "$RK_TRACKER_PIDFILE")"
rk_start_mount no-tracker "$RK_WORK/no-tracker" "$CATALOG" --fetch lazy
check "with the tracker down, the web seed serves every byte" compare_trees "$SRC" "$RK_WORK/no-tracker/web"
check "the tracker failure is logged with the release's name" grep -q "release web: tracker" "$RK_WORK/no-tracker.log"

# 6. A read that cannot be satisfied in time fails with EIO after --read-timeout; the mount stays healthy.
kill -TERM "$RK_SEEDER_PID" "$RK_PID_a" "$RK_PID_c"
stopped "$RK_SEEDER_PID" && stopped "$RK_PID_a" && stopped "$RK_PID_c"
rk_start_mount timeout "$RK_WORK/timeout" "$CATALOG" --fetch lazy --read-timeout 2
start=$SECONDS
check_errno "a read with no source fails with EIO" EIO "open('$RK_WORK/timeout/1.0/data/big.bin','rb').read(4096)"
check "after about --read-timeout seconds" test $((SECONDS - start)) -le 5
check "the timeout is logged" grep -q "release 1.0: 1 reads failed with EIO" "$RK_WORK/timeout.log"
check_eq "the mount stays healthy" "hello from rookery version=1" "$("$RK_WORK/timeout/web/bin/hello")"

# 7. The catalog goes offline: joined releases keep working, also after a daemon restart.
kill -TERM "$RK_NGINX_PID" "$RK_PID_web_only"
stopped "$RK_NGINX_PID" && stopped "$RK_PID_web_only"
check "nginx is down" bash -c "! curl -s --max-time 2 '${CATALOG}index.json' >/dev/null"
check_eq "a joined release still lists" "big.bin hello-link odd-size.bin" "$(ls "$RK_WORK/no-tracker/web/data" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "and reads" "hello from rookery version=1" "$("$RK_WORK/no-tracker/web/bin/hello")"
rk_start_mount web-only "$RK_WORK/web-only" "$CATALOG" --fetch lazy
check "after a restart with the catalog down, the release reappears from the cache" \
  compare_trees "$SRC" "$RK_WORK/web-only/web"
check_errno "an unknown version cannot be checked: EIO" EIO "os.stat('$RK_WORK/web-only/9.9')"
check "with a log line naming the catalog" grep -q "release 9.9: cannot load: cannot fetch" "$RK_WORK/web-only.log"
finish
