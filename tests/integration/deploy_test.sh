#!/usr/bin/env bash
# The deploy workflow: prefetch with progress, status and metrics that match the cache, activate
# (atomic flips under live traffic), rollback, refusing unknown versions, prefetch timeouts, and
# garbage collection that never removes an open or activated release.
source "$(dirname "$0")/lib.sh"
start_origin 16
echo "version=2" >"$SRC/config/app.conf"
# New bytes in every release: the host would otherwise take them from the releases it has (dedup),
# and the garbage collection and prefetch checks below measure what each release holds alone.
head -c $((16 * 1024 * 1024)) /dev/urandom >"$SRC/data/big.bin"
publish --version 2.0
LINK=$RK_WORK/srv/current
mkdir -p "$RK_WORK/srv"
# nginx serves the application's files through the deploy link, as a real service would.
rk_start_nginx "$REPO" "location /app/ { alias $LINK/config/; }"
rk_start_seeder "$REPO"
MNT=$RK_WORK/releases
CACHE=$RK_WORK/host-cache
# --partial-readahead-kb 192: not the kernel's 128 KiB, so the check below sees the tuner at work.
rk_start_mount host "$MNT" "$RK_CATALOG_URL" --fetch lazy --metrics-file "$RK_WORK/metrics.prom" \
  --partial-readahead-kb 192
rk() { "$RK_BIN" "$@" --cache "$CACHE"; }

# Kernel readahead: small while a joined release is partial, large once every one has landed.
READAHEAD=/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb
ls "$MNT/1.0" >/dev/null
check_eq "kernel readahead while 1.0 is partial (KiB)" "192" "$(cat "$READAHEAD")"

# prefetch, status, metrics
out=$(rk prefetch 1.0 --timeout 60)
check "prefetch 1.0 exits 0 once every piece is verified" test $? -eq 0
check "kernel readahead is raised to 4096 KiB once 1.0 has landed" rk_wait_for 5 grep -qx 4096 "$READAHEAD"
check "prefetch prints plain progress lines when not on a terminal" grep -q "1.0: 100%.*peers, ETA" <<<"$out"
# On a terminal (script(1) gives it a pty): one bar redrawn in place with \r, then a summary line.
tty_out=$(script -qec "'$RK_BIN' prefetch 1.0 --cache '$CACHE' --timeout 60" /dev/null)
check "prefetch on a terminal draws a progress bar in place" \
  grep -q $'\r\\[##############################\\] 1.0: 100%' <<<"$tty_out"
check "and ends with a summary line" grep -q "1.0: every piece verified in" <<<"$tty_out"
status=$(rk status --json)
cache_bytes=$(find "$CACHE/releases/1.0/data" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
check_eq "status --json: verified bytes match the cache" "$cache_bytes" \
  "$(python3 -c "import json,sys; r=[r for r in json.load(sys.stdin)['releases'] if r['version']=='1.0'][0]; print(r['bytes_verified'])" <<<"$status")"
check_eq "status --json: state" "seeding" \
  "$(python3 -c "import json,sys; print([r for r in json.load(sys.stdin)['releases'] if r['version']=='1.0'][0]['state'])" <<<"$status")"
check "status prints a table" bash -c "'$RK_BIN' status --cache '$CACHE' | grep -q '^1.0 .*seeding'"
sleep 2.5  # the metrics file is rewritten every 2 s
check "the metrics file parses as Prometheus text, with version labels" /usr/bin/python3 - "$RK_WORK/metrics.prom" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
samples = {(s.name, s.labels.get("version")): s.value
           for f in text_string_to_metric_families(open(sys.argv[1]).read()) for s in f.samples}
assert samples[("rookery_release_pieces_verified", "1.0")] == samples[("rookery_release_pieces_total", "1.0")], samples
assert ("rookery_release_read_wait_seconds", "1.0") in samples
PY

# activate under live traffic: every request succeeds and sees one release or the other.
rk activate 1.0 --link "$LINK" --mount "$MNT" >/dev/null
check_eq "activate points the link at the release" "$MNT/1.0" "$(readlink "$LINK")"
check_eq "nginx serves through the link" "version=1" "$(curl -s --max-time 60 "http://127.0.0.1:$RK_NGINX_PORT/app/app.conf")"
(for i in $(seq 1 40); do rk activate 2.0 --link "$LINK" --mount "$MNT" >/dev/null; rk activate 1.0 --link "$LINK" --mount "$MNT" >/dev/null; done) &
flipper=$!
for i in $(seq 1 400); do
  curl -s --max-time 5 -o - -w ' %{http_code}' "http://127.0.0.1:$RK_NGINX_PORT/app/app.conf" | tr -d '\n'
  echo
done >"$RK_WORK/responses.txt"
wait "$flipper"
check_eq "400 requests during 80 flips: all answered 200" "400" "$(grep -c ' 200$' "$RK_WORK/responses.txt")"
check_eq "each from one release or the other, never mixed" "0" "$(grep -vcE '^version=[12] 200$' "$RK_WORK/responses.txt")"
check "both releases were served during the flips" bash -c "grep -q version=1 '$RK_WORK/responses.txt' && grep -q version=2 '$RK_WORK/responses.txt'"

# rollback, and an unknown version leaves the link alone
rk activate 2.0 --link "$LINK" --mount "$MNT" >/dev/null
rk rollback --link "$LINK" >/dev/null
check_eq "rollback returns to the previous target" "$MNT/1.0" "$(readlink "$LINK")"
check "activate of an unknown version fails" bash -c "! '$RK_BIN' activate 9.9 --link '$LINK' --mount '$MNT' --cache '$CACHE' 2>/dev/null"
check_eq "and leaves the link untouched" "$MNT/1.0" "$(readlink "$LINK")"
rk activate 2.0 --link "$RK_WORK/srv/other" --mount "$MNT" >/dev/null &
one=$!
rk activate 1.0 --link "$RK_WORK/srv/another" --mount "$MNT" >/dev/null &
wait "$one" "$!"  # not a bare wait: the daemons are children of this shell too
check_eq "two links flipped concurrently" "$MNT/2.0 $MNT/1.0" "$(readlink "$RK_WORK/srv/other") $(readlink "$RK_WORK/srv/another")"
rm "$RK_WORK/srv/other" "$RK_WORK/srv/another"

# prefetch gives up when the release cannot complete
head -c $((16 * 1024 * 1024)) /dev/urandom >"$SRC/data/big.bin"
publish --version 3.0
kill -TERM "$RK_SEEDER_PID"
rk_wait_for 20 bash -c "! kill -0 $RK_SEEDER_PID"
start=$SECONDS
rk prefetch 3.0 --timeout 3 >/dev/null 2>"$RK_WORK/prefetch-err.txt"
check_eq "prefetch without any source exits 1" "1" "$?"
check "after its timeout" test $((SECONDS - start)) -le 8
check "saying why" grep -q "release 3.0 did not complete within 3 s" "$RK_WORK/prefetch-err.txt"

# gc: never an open or an activated release; frees space down to the limit otherwise
rk activate 2.0 --link "$LINK" --mount "$MNT" >/dev/null
exec 9<"$MNT/1.0/data/big.bin"
rk gc >/dev/null 2>"$RK_WORK/gc0.txt"
check_eq "gc without a size, on a daemon without --cache-max-bytes, refuses" "1" "$?"
check "saying what to pass" grep -q "pass --max-bytes N" "$RK_WORK/gc0.txt"
check "and removes nothing" test -d "$CACHE/releases/3.0"
rk gc --max-bytes 0 >"$RK_WORK/gc1.txt"
check_eq "gc removes only what is neither open nor activated" "removed 3.0" "$(grep removed "$RK_WORK/gc1.txt")"
check "the open release stays" test -d "$CACHE/releases/1.0"
check "the activated release stays" test -d "$CACHE/releases/2.0"
exec 9<&-
size2=$(du -sB1 "$CACHE/releases/2.0" | cut -f1)
rk gc --max-bytes $((size2 + 65536)) >"$RK_WORK/gc2.txt"
check_eq "once closed, the least recently used release goes" "removed 1.0" "$(grep removed "$RK_WORK/gc2.txt")"
left=$(du -sB1 "$CACHE/releases" | cut -f1)
check "the cache is down to the limit ($left <= $((size2 + 65536)) bytes)" test "$left" -le $((size2 + 65536 + 8192))
check_eq "the activated release still serves" "version=2" "$(curl -s --max-time 60 "http://127.0.0.1:$RK_NGINX_PORT/app/app.conf")"
check_eq "an evicted release can be joined again (tree from the catalog)" "16777216" "$(stat -c %s "$MNT/1.0/data/big.bin")"

# Operator commands find the daemon from either path: the mount names its cache (an attribute of
# its root), the daemon's status names its mount point.
check_eq "the mount's root names the daemon's cache" "$CACHE" \
  "$(python3 -c "import os; print(os.getxattr('$MNT', 'user.rookery.cache').decode())")"
check "status with --mount alone" bash -c "'$RK_BIN' status --mount '$MNT' | grep -q '^2.0 '"
"$RK_BIN" activate 1.0 --link "$LINK" --cache "$CACHE" >/dev/null
check_eq "activate with --cache alone links into the daemon's mount" "$MNT/1.0" "$(readlink "$LINK")"
"$RK_BIN" rollback --link "$LINK" --mount "$MNT" >/dev/null
check_eq "rollback with --mount alone" "$MNT/2.0" "$(readlink "$LINK")"
mkdir -p "$RK_WORK/not-a-mount"
err=$("$RK_BIN" status --mount "$RK_WORK/not-a-mount" 2>&1 >/dev/null)
want="--mount $RK_WORK/not-a-mount is not a rookery mount (looked for the attribute user.rookery.cache of its root: No data available): pass the daemon's mount point, or --cache"
check "a directory that is no rookery mount: one line naming what was looked for" \
  bash -c '[[ $(wc -l <<<"$1") == 1 && "$1" == *"$2" ]]' _ "$err" "$want"
err=$("$RK_BIN" activate 1.0 --link "$LINK" --cache "$RK_WORK/no-cache" 2>&1 >/dev/null)
check "a cache no daemon serves: one line, says to pass --mount" \
  bash -c '[[ $(wc -l <<<"$1") == 1 && "$1" == *"$2/control.sock"*"pass --mount" ]]' _ "$err" "$RK_WORK/no-cache"
check_eq "the link is unchanged" "$MNT/2.0" "$(readlink "$LINK")"

# The mount(8) helper (fstab): `mount -t rookery` runs it as mount.rookery SOURCE DIR -o OPTIONS.
FSTAB=$RK_WORK/fstab-releases
mkdir -p "$FSTAB"
RK_MOUNTS+=("$FSTAB")
ROOKERY=$RK_BIN "$ROOT/packaging/mount.rookery" "$RK_CATALOG_URL" "$FSTAB" \
  -o "cache=$RK_WORK/fstab-cache,fetch=lazy,listen=127.0.0.1:$(rk_free_port),log=$RK_WORK/fstab.log,nofail"
check "mount.rookery mounts from fstab-style options" rk_is_mounted "$FSTAB"
check_eq "and serves the catalog" "1.0 2.0 3.0" "$(ls "$FSTAB" | tr '\n' ' ' | sed 's/ $//')"
daemons() { pgrep -fc "^$RK_BIN mount $FSTAB" || true; }
before=$(daemons)
ROOKERY=$RK_BIN "$ROOT/packaging/mount.rookery" "$RK_CATALOG_URL" "$FSTAB" -o "cache=$RK_WORK/fstab-cache" 2>"$RK_WORK/again.txt"
check_eq "mounting it again (mount -a) leaves the live mount alone" "$before" "$(daemons)"
check "saying so" grep -q "already mounted by rookery" "$RK_WORK/again.txt"
ROOKERY=$RK_BIN "$ROOT/packaging/mount.rookery" "$RK_CATALOG_URL" "$RK_WORK/typo" \
  -o "cache=$RK_WORK/typo-cache,trusted=/etc/rookery/release.pub" 2>"$RK_WORK/typo.txt"
check_eq "a misspelt option is refused, not ignored" "1" "$?"
check "naming it" grep -q "unknown option 'trusted=/etc/rookery/release.pub'" "$RK_WORK/typo.txt"
check "and nothing is mounted" bash -c "! grep -qs ' $RK_WORK/typo ' /proc/mounts"
fusermount3 -u "$FSTAB"
check "fusermount3 -u stops it" rk_wait_for 20 bash -c "! pgrep -f '^$RK_BIN mount $FSTAB' >/dev/null"
finish
