#!/usr/bin/env bash
# A lazy mount served over HTTP catalog + opentracker + seeder, end to end: the tree appears from
# metadata, a binary runs before the release has landed, 500 concurrent random reads of a 256 MiB
# file return exact bytes while most of it is still missing, every file ends byte-identical, and bad
# input gets the right errno without hurting the mount.
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

check "every file read through the mount matches the source" compare_trees "$SRC" "$MNT/1.0"
check "the daemon is still alive" kill -0 "$RK_PID_lazy"
finish
