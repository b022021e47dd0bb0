#!/usr/bin/env bash
# A lazy mount served over HTTP catalog + opentracker + seeder, end to end: the tree appears from
# metadata, a binary runs before the release has landed, 500 concurrent random reads of a 256 MiB
# file return exact bytes while most of it is still missing, every file ends byte-identical, bad
# input gets the right errno without hurting the mount, and a release's hot set is fetched as it is
# joined (and recorded by `rookery trace`, exactly on a mount without kernel readahead), with no
# kernel readahead while it arrives, and the catalog watch keeps a new release's metadata ready.
source "$(dirname "$0")/lib.sh"
start_origin 256
rk_start_nginx "$REPO"
MNT=$RK_WORK/mnt
# A version whose torrent in the catalog is garbage: its lookup must fail alone.
publish --version broken
head -c 5000 /dev/urandom >"$REPO/torrents/broken.torrent"
# The seeder is slowed to 20 MB/s so that "before the release has landed" is a state we can observe.
rk_start_seeder "$REPO" --max-upload-rate 20000000
rk_start_mount lazy "$MNT" "$RK_CATALOG_URL" --fetch lazy

check_eq "ls lists the catalog's versions" "1.0 broken" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"

# Metadata only: no piece is needed to show the tree.
check_eq "big file size from metadata" "268435456" "$(stat -c %s "$MNT/1.0/data/big.bin")"
check_eq "executable bit kept" "555" "$(stat -c %a "$MNT/1.0/bin/hello")"
check_eq "plain file mode" "444" "$(stat -c %a "$MNT/1.0/config/app.conf")"
check_eq "empty file" "0" "$(stat -c %s "$MNT/1.0/config/empty")"
check_eq "symlink target" "../bin/hello" "$(readlink "$MNT/1.0/data/hello-link")"
check_eq "directory symlink resolves" "1000000" "$(stat -L -c %s "$MNT/1.0/lib/shortcut/lib.so")"
check_eq "mtime kept" "$(stat -c %Y "$SRC/config/app.conf")" "$(stat -c %Y "$MNT/1.0/config/app.conf")"
check_eq "nested directory listing" "lib.so" "$(ls "$MNT/1.0/lib/deep/er")"

check_eq "exec from the mount prints its output" "hello from rookery version=1" "$("$MNT/1.0/bin/hello")"
check_eq "exec through a symlink" "hello from rookery version=1" "$("$MNT/1.0/data/hello-link")"

check "500 concurrent random reads of a lazy 256 MiB file are exact" \
  "$READCHECK" "$MNT/1.0/data/big.bin" "$SRC/data/big.bin" 500 32 16384 1
sleep 1.2  # status.json is rewritten every second
verified=$(rk_status lazy 1.0 pieces_verified)
total=$(rk_status lazy 1.0 pieces_total)
check "most of the release had not landed during those reads ($verified of $total pieces)" \
  test "$verified" -lt $((total / 2))

# Bad input: answers at once, with the right errno, and the mount stays healthy.
start=$SECONDS
check_errno "unknown version is ENOENT" ENOENT "os.stat('$MNT/9.9.9')"
check "unknown version answered at once" test $((SECONDS - start)) -le 3
check_errno "invalid name is ENOENT" ENOENT "os.stat('$MNT/bad name!')"
check_errno "dot-dot style name is ENOENT" ENOENT "os.stat('$MNT/...x/..')"
check_errno "malformed torrent is EIO" EIO "os.listdir('$MNT/broken')"
check_eq "malformed torrent logged once, naming the release" "1" \
  "$(grep -c 'release broken: cannot load: torrent is malformed' "$RK_WORK/lazy.log")"
check_errno "write is EROFS" EROFS "open('$MNT/1.0/config/app.conf', 'w')"
check_errno "create is EROFS" EROFS "open('$MNT/1.0/new-file', 'w')"
check_errno "unlink is EROFS" EROFS "os.unlink('$MNT/1.0/config/app.conf')"
check_errno "chmod is EROFS" EROFS "os.chmod('$MNT/1.0/bin/hello', 0o777)"
check_errno "mkdir is EROFS" EROFS "os.mkdir('$MNT/1.0/newdir')"
check_errno "rename is EROFS" EROFS "os.rename('$MNT/1.0/config/app.conf', '$MNT/1.0/config/x')"

# Publishing while everything runs: the new version appears and gets peers without a restart.
publish --version 2.0
check "a version published while mounted appears in the listing" rk_wait_for 5 test -d "$MNT/2.0/bin"
check_eq "and its files are served" "hello from rookery version=1" "$(timeout 60 "$MNT/2.0/bin/hello")"

# The catalog watch: a version published while hosts run is in a watching host's cache within a
# round, before any lookup, and that host then joins it without the catalog's torrent. A host
# without the watch (--catalog-poll 0) fetches nothing ahead, and with the torrent gone cannot join.
rk_start_mount watch "$RK_WORK/mnt-watch" "$RK_CATALOG_URL" --fetch lazy --catalog-poll 1
rk_start_mount nowatch "$RK_WORK/mnt-nowatch" "$RK_CATALOG_URL" --fetch lazy --catalog-poll 0
publish --version 2.1
check "the watch keeps 2.1's torrent ready before any lookup" \
  rk_wait_for 10 test -s "$RK_WORK/watch-cache/releases/2.1/release.torrent"
check "exactly the catalog's torrent" cmp "$REPO/torrents/2.1.torrent" "$RK_WORK/watch-cache/releases/2.1/release.torrent"
check "and nothing of a join" test ! -e "$RK_WORK/watch-cache/releases/2.1/data"
check "a host without the watch fetched nothing" test ! -e "$RK_WORK/nowatch-cache/releases/2.1"
rk_wait_for 10 grep -q "seeding 2.1" "$RK_WORK/seeder.log"
mv "$REPO/torrents/2.1.torrent" "$RK_WORK/2.1.torrent.away"
check_eq "with the catalog's torrent gone, the watching host joins 2.1 from its cache" \
  "hello from rookery version=1" "$(timeout 60 "$RK_WORK/mnt-watch/2.1/bin/hello")"
check_errno "the host without the watch cannot" EIO "os.listdir('$RK_WORK/mnt-nowatch/2.1')"
mv "$RK_WORK/2.1.torrent.away" "$REPO/torrents/2.1.torrent"
check "the watch's polls of an unchanged index are answered 304 Not Modified (no body)" \
  rk_wait_for 5 grep -q '"GET /rookery/index.json HTTP/1.1" 304 0' "$RK_WORK/nginx/access.log"
check "rookery status shows the watch and what it keeps ready" \
  bash -c "'$RK_BIN' status --cache '$RK_WORK/watch-cache' | grep -E '^catalog watch: every 1 s, last round [0-9.]+ s ago, newest ready: 2.1$'"
check_eq "and that a host has none" "catalog watch: off (metadata is fetched at a version's first lookup)" \
  "$("$RK_BIN" status --cache "$RK_WORK/nowatch-cache" | grep '^catalog watch')"

check "every file read through the mount matches the source" compare_trees "$SRC" "$MNT/1.0"
check "the daemon is still alive" kill -0 "$RK_PID_lazy"

# The hot set. What this host read of 1.0, first reads first, as `publish --hot-set` takes it.
"$RK_BIN" trace 1.0 --cache "$RK_WORK/lazy-cache" >"$RK_WORK/trace.json"
check_eq "the trace starts where the first read was (the binary run first)" "bin/hello 0" \
  "$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["ranges"][0]; print(r["path"], r["offset"])' "$RK_WORK/trace.json")"
check_eq "a release not joined has no trace" "cannot trace 9.9: this host has not joined it (read some of it first)" \
  "$("$RK_BIN" trace 9.9 --cache "$RK_WORK/lazy-cache" 2>&1 | sed 's/^.* error //')"
# A release of new content (nothing to take from 1.0) published with a hot set: a lazy host
# fetches exactly those pieces as it joins, before anything reads them, and serves them with no
# peer left.
HOT_SRC=$RK_WORK/hot-src
mkdir -p "$HOT_SRC/bin" "$HOT_SRC/data"
head -c 1000000 /dev/urandom >"$HOT_SRC/bin/app"
head -c $((8 * 1048576)) /dev/urandom >"$HOT_SRC/data/cold.bin"
echo '{"ranges": [{"path": "bin/app"}, {"path": "data/cold.bin", "offset": 4194304, "length": 262144},
  {"path": "gone.txt"}]}' >"$RK_WORK/hot.json"
out=$("$RK_BIN" publish "$HOT_SRC" --repo "$REPO" --version 3.0 --tracker "$RK_TRACKER_URL" \
  --tracker-pid-file "$RK_TRACKER_PIDFILE" --piece-size 262144 --hot-set "$RK_WORK/hot.json")
check_eq "publish says what the hot set holds" "hot set: 2 ranges, 1262144 bytes (13.4%), fetched by every host as it joins" \
  "$(grep '^hot set: 2' <<<"$out")"
check_eq "and what it left out" "hot set: 1 ranges left out: they name no regular file of 3.0" "$(grep 'left out' <<<"$out")"
check "the hot release appears" rk_wait_for 5 test -d "$MNT/3.0/bin"
hot_pieces_arrived() { test "$(rk_status lazy 3.0 pieces_downloaded)" = 5; }
check "its 5 hot pieces (4 of bin/app, 1 of data/cold.bin) arrive with nothing read" rk_wait_for 30 hot_pieces_arrived
sleep 2
check_eq "and nothing else (lazy)" "5" "$(rk_status lazy 3.0 pieces_downloaded)"
# Recording a hot set on a host mounted without kernel readahead: the trace holds the piece the
# application read, not the next one the kernel would have read ahead into (the first piece of a
# file read sequentially, 64 KiB at a time: the kernel's readahead reaches past its end).
rk_start_mount exact "$RK_WORK/mnt-exact" "$RK_CATALOG_URL" --fetch lazy --partial-readahead-kb 0
python3 -c 'import sys; f = open(sys.argv[1], "rb", buffering=0); assert sum(len(f.read(65536)) for _ in range(4)) == 262144' \
  "$RK_WORK/mnt-exact/3.0/data/cold.bin"
check_eq "kernel readahead off (KiB)" "0" "$(cat "/sys/class/bdi/$(mountpoint -d "$RK_WORK/mnt-exact")/read_ahead_kb")"
check_eq "a trace without readahead holds only the piece read" "data/cold.bin 0 262144" \
  "$("$RK_BIN" trace 3.0 --cache "$RK_WORK/exact-cache" | python3 -c 'import json, sys
print(" | ".join("%s %s %s" % (r["path"], r.get("offset", 0), r.get("length")) for r in json.load(sys.stdin)["ranges"]))')"
kill "$RK_SEEDER_PID" && wait "$RK_SEEDER_PID" 2>/dev/null || true
check "with every peer gone, the hot file reads exact" timeout 20 cmp "$MNT/3.0/bin/app" "$HOT_SRC/bin/app"

# While a joined release's hot set is still arriving, the kernel reads no further than it is asked
# (--hot-set-readahead-kb 0): readahead past the hot set would take link time from it. With no
# seeder, 4.0's hot set cannot arrive; once one runs, the partial release's readahead is back.
mkdir -p "$RK_WORK/hot4-src/bin"
head -c 1000000 /dev/urandom >"$RK_WORK/hot4-src/bin/app"
head -c 2000000 /dev/urandom >"$RK_WORK/hot4-src/bin/rest"
echo '{"ranges": [{"path": "bin/app"}]}' >"$RK_WORK/hot4.json"
"$RK_BIN" publish "$RK_WORK/hot4-src" --repo "$REPO" --version 4.0 --tracker "$RK_TRACKER_URL" \
  --tracker-pid-file "$RK_TRACKER_PIDFILE" --piece-size 262144 --hot-set "$RK_WORK/hot4.json" >/dev/null
rk_start_mount hot4 "$RK_WORK/mnt-hot4" "$RK_CATALOG_URL" --fetch lazy --partial-readahead-kb 192
HOT4_READAHEAD=/sys/class/bdi/$(mountpoint -d "$RK_WORK/mnt-hot4")/read_ahead_kb
check "4.0 appears with no seeder" rk_wait_for 5 test -d "$RK_WORK/mnt-hot4/4.0/bin"
check_eq "kernel readahead while its hot set is missing (KiB)" "0" "$(cat "$HOT4_READAHEAD")"
rk_start_seeder "$REPO"
hot4_arrived() { test "$(rk_status hot4 4.0 pieces_downloaded)" = 4; }
check "once a seeder runs, its 4 hot pieces arrive" rk_wait_for 30 hot4_arrived
check "and the partial release's 192 KiB are back" rk_wait_for 5 grep -qx 192 "$HOT4_READAHEAD"
sleep 2
check_eq "nothing else was fetched (lazy)" "4" "$(rk_status hot4 4.0 pieces_downloaded)"
finish
