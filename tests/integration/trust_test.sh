#!/usr/bin/env bash
# Trust: signed releases (EACCES for missing, foreign or misplaced signatures), hostile catalog
# input rejected with one clear line while the mount stays healthy and nothing is written outside
# the cache, and the mount's security defaults.
source "$(dirname "$0")/lib.sh"
start_origin 8
rk_start_nginx "$REPO"
MNT=$RK_WORK/mnt

"$RK_BIN" keygen --out "$RK_WORK/origin.key" >/dev/null
"$RK_BIN" keygen --out "$RK_WORK/other.key" >/dev/null
check_eq "private key is owner-only" "600" "$(stat -c %a "$RK_WORK/origin.key")"
publish --version signed --sign "$RK_WORK/origin.key"
publish --version unsigned
publish --version foreign --sign "$RK_WORK/other.key"
publish --version misplaced --sign "$RK_WORK/origin.key"
cp "$REPO/torrents/signed.torrent.sig" "$REPO/torrents/misplaced.torrent.sig"  # a signature for another version
hostile=$(python3 "$(dirname "$0")/hostile_torrents.py" "$REPO")
rk_start_seeder "$REPO"
rk_start_mount trusting "$MNT" "$RK_CATALOG_URL" --fetch lazy --trust "$RK_WORK/origin.key.pub"

check_eq "a release signed by the trusted key is served" "hello from rookery version=1" "$("$MNT/signed/bin/hello")"
for v in unsigned foreign misplaced; do
  check_errno "$v release is EACCES" EACCES "os.listdir('$MNT/$v')"
  check_eq "$v release refused in one log line" "1" "$(grep -c "release $v: refused" "$RK_WORK/trusting.log")"
done
check_eq "refused releases got no cache directory contents" "" "$(ls "$RK_WORK/trusting-cache/releases/unsigned" 2>/dev/null)"

# Hostile catalog input, on a mount that does not check signatures (with --trust they are refused
# before they are even parsed, as the unsigned release above was).
rk_start_mount open "$RK_WORK/open" "$RK_CATALOG_URL" --fetch lazy
for v in $hostile; do
  check_errno "hostile torrent $v is EIO" EIO "os.listdir('$RK_WORK/open/$v')"
  check_eq "hostile torrent $v logged in one line" "1" "$(grep -c "release $v: cannot load: torrent" "$RK_WORK/open.log")"
  check "hostile torrent $v was not admitted (nothing kept in its cache directory)" \
    bash -c "! find '$RK_WORK/open-cache/releases/$v' -mindepth 1 2>/dev/null | grep -q ."
done
# Where the hostile names would have led (../../escaped from the release's data directory, a
# torrent named /tmp): nothing there.
check "nothing was written outside the cache" \
  bash -c "! find '$RK_WORK' -name escaped | grep -q . && ! test -e /tmp/ok && ! test -e /tmp/escaped"
check_eq "the mount stays healthy" "hello from rookery version=1" "$("$RK_WORK/open/signed/data/hello-link")"
check "every file of the signed release is exact" compare_trees "$SRC" "$MNT/signed"

# Security defaults.
opts=$(awk -v m="$MNT" '$2 == m {print $4}' /proc/mounts)
for opt in ro nosuid nodev default_permissions; do
  check "mount option $opt ($opts)" grep -qw "$opt" <<<"${opts//,/ }"
done
check "allow_other only when asked" bash -c "! grep -qw allow_other <<<'${opts//,/ }'"
check_eq "cache directory is owner-only" "700" "$(stat -c %a "$RK_WORK/trusting-cache")"
check_eq "status file is owner-only" "600" "$(stat -c %a "$RK_WORK/trusting-cache/status.json")"
# Another user: the path to the mount is traversable (not listable), so only the mount refuses.
chmod 0711 "$RK_WORK"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
check "another user cannot enter the mount without --allow-other" bash -c "$(declare -f as_nobody); ! as_nobody ls '$MNT' >/dev/null 2>&1"
rk_start_mount shared "$RK_WORK/shared" "$RK_CATALOG_URL" --fetch lazy --allow-other
check "and can with --allow-other (the check above can fail)" bash -c "$(declare -f as_nobody); as_nobody ls '$RK_WORK/shared' >/dev/null"
finish
