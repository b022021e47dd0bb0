#!/usr/bin/env bash
# Builds the Debian package rookery_<version>_<arch>.deb from this tree and checks it with lintian.
# A release build of its own (build-package/), installed by CMake into a staging tree, plus:
# man pages made by help2man from the real --help of the binary and of every subcommand (so they
# cannot drift), the dependencies computed from the binary by dpkg-shlibdeps, the conffile
# /etc/default/rookery, and maintainer scripts that enable nothing: on an upgrade of the package
# a running rookery-mount is reloaded, which hands the mount to the new binary under running
# programs (a takeover); on removal the units are stopped.
#
#   scripts/package.sh [--out DIR] [--build-dir DIR]    prints the path of the .deb (in dist/)
# --build-dir packages an existing build instead (the tests use theirs; installed with prefix /usr).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=dist
BUILD=""
while (($#)); do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bash scripts/setup.sh >&2
if [[ -z $BUILD ]]; then
  BUILD=build-package
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF >/dev/null
fi
cmake --build "$BUILD" --target rookery -j2 >&2
VERSION=$(sed -n 's/^project(rookery VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
ARCH=$(dpkg --print-architecture)
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/rookery-package.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/root
DESTDIR=$ROOT cmake --install "$BUILD" --prefix /usr >/dev/null
# Beside the binary, at the absolute places Debian 12 keeps them (the units run /usr/bin/rookery).
install -D -m 0644 -t "$ROOT/lib/systemd/system" packaging/systemd/rookery-mount.service \
  packaging/systemd/rookery-seed.service packaging/systemd/opentracker-rookery.service
install -D -m 0755 packaging/mount.rookery "$ROOT/sbin/mount.rookery"
install -D -m 0644 packaging/default/rookery "$ROOT/etc/default/rookery"
install -D -m 0644 packaging/logrotate/rookery "$ROOT/etc/logrotate.d/rookery"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$ROOT/usr/bin/rookery"

# Man pages from the binary's own help: rookery(1) and rookery-SUBCOMMAND(1).
MAN=$ROOT/usr/share/man/man1
mkdir -p "$MAN" "$STAGE/bin"
subcommands=$("$ROOT/usr/bin/rookery" --help | sed -n '/^Subcommands:/,$ s/^  \([a-z]\+\) .*/\1/p')
[[ -n $subcommands ]] || { echo "package: no subcommands found in rookery --help" >&2; exit 1; }
help2man_page() {  # NAME PROGRAM DESCRIPTION
  help2man --no-info --no-discard-stderr --section 1 --name "$3" --source "rookery $VERSION" \
    --version-string "$VERSION" "$2" >"$STAGE/$1.1"
  gzip -9n <"$STAGE/$1.1" >"$MAN/$1.1.gz"
}
help2man_page rookery "$ROOT/usr/bin/rookery" "deliver releases over a private BitTorrent swarm as a lazy FUSE mount"
for sub in $subcommands; do
  # help2man runs PROGRAM --help: a wrapper per subcommand, named like the page.
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$ROOT/usr/bin/rookery" "$sub" >"$STAGE/bin/rookery-$sub"
  chmod +x "$STAGE/bin/rookery-$sub"
  what=$("$ROOT/usr/bin/rookery" --help | sed -n "s/^  $sub \+\(.*\)/\1/p")
  help2man_page "rookery-$sub" "$STAGE/bin/rookery-$sub" "$what"
done
# The fstab helper, from its own --help; it finds the binary being packaged through ROOKERY.
printf '#!/bin/sh\nROOKERY="%s" exec "%s" "$@"\n' "$ROOT/usr/bin/rookery" "$ROOT/sbin/mount.rookery" >"$STAGE/bin/mount.rookery"
chmod +x "$STAGE/bin/mount.rookery"
MAN8=$ROOT/usr/share/man/man8
mkdir -p "$MAN8"
help2man --no-info --section 8 --name "mount a rookery catalog from /etc/fstab" --source "rookery $VERSION" \
  --version-string "$VERSION" "$STAGE/bin/mount.rookery" | gzip -9n >"$MAN8/mount.rookery.8.gz"

DOC=$ROOT/usr/share/doc/rookery
mkdir -p "$DOC/examples"
cp README.md "$DOC/"
cp packaging/examples/deploy.sh "$DOC/examples/"
cp packaging/default/rookery "$DOC/examples/default-rookery"
cat >"$DOC/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: rookery
Source: https://github.com/rookery/rookery

Files: *
Copyright: $(date -u +%Y) the rookery authors
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPY
printf 'rookery (%s) unstable; urgency=medium\n\n  * Package built from the source tree (scripts/package.sh).\n\n -- rookery maintainers <rookery@example.org>  %s\n' \
  "$VERSION" "$(date -u -R)" | gzip -9n >"$DOC/changelog.gz"

DEB=$ROOT/DEBIAN
mkdir -p "$DEB"
# dpkg-shlibdeps reads debian/control of a source tree: give it a minimal one.
mkdir -p "$STAGE/src/debian"
printf 'Source: rookery\n\nPackage: rookery\nArchitecture: any\n' >"$STAGE/src/debian/control"
depends=$(cd "$STAGE/src" && dpkg-shlibdeps -O "$ROOT/usr/bin/rookery" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
installed_kib=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat >"$DEB/control" <<CONTROL
Package: rookery
Version: $VERSION
Architecture: $ARCH
Maintainer: rookery maintainers <rookery@example.org>
Installed-Size: $installed_kib
Depends: $depends, fuse3
Suggests: opentracker, nginx
Section: admin
Priority: optional
Homepage: https://github.com/rookery/rookery
Description: software releases over a private BitTorrent swarm, as a lazy FUSE mount
 An origin publishes each release directory as a torrent and seeds it; every
 app server mounts the catalog at /releases, joins a release's swarm at its
 first lookup, serves reads from verified pieces or waits only for the pieces
 they need, and uploads what it has to the other servers. Deploys flip a
 symlink.
 .
 The mount survives its daemon: the packaged unit keeps the FUSE connection in
 systemd's file descriptor store, so a crash or an upgrade of rookery is
 invisible to running programs.
CONTROL
printf '%s\n' /etc/default/rookery /etc/logrotate.d/rookery >"$DEB/conffiles"
cat >"$DEB/postinst" <<'SCRIPT'
#!/bin/sh
# Enables nothing. On an upgrade, a running mount is handed to the new binary (a takeover: running
# programs keep their files); the seeder is restarted. The tracker is not: it keeps its peers in
# memory only, and the package does not ship it.
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
  if [ -n "$2" ]; then
    deb-systemd-invoke try-reload-or-restart rookery-mount.service >/dev/null || true
    deb-systemd-invoke try-restart rookery-seed.service >/dev/null || true
  fi
fi
exit 0
SCRIPT
cat >"$DEB/prerm" <<'SCRIPT'
#!/bin/sh
# On removal, stop what runs from this package (stopping rookery-mount unmounts /releases), and
# unmount what /etc/fstab mounted (held by rookery's own supervisor, not by a unit).
set -e
if [ "$1" = remove ]; then
  if [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop rookery-mount.service rookery-seed.service opentracker-rookery.service >/dev/null || true
  fi
  awk '$3 == "fuse.rookery" {print $2}' /proc/mounts | while read -r m; do
    umount "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null || true
  done
fi
exit 0
SCRIPT
cat >"$DEB/postrm" <<'SCRIPT'
#!/bin/sh
# A purge also takes what the daemons made: the default cache and the fstab mount's log, and the
# units' enablement.
set -e
if [ "$1" = purge ]; then
  rm -rf /var/cache/rookery /var/log/rookery-mount.log /run/opentracker-rookery.pid
  if command -v deb-systemd-helper >/dev/null; then
    deb-systemd-helper purge rookery-mount.service rookery-seed.service opentracker-rookery.service >/dev/null || true
  fi
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
fi
exit 0
SCRIPT
chmod 0755 "$DEB/postinst" "$DEB/prerm" "$DEB/postrm"
find "$ROOT" -type d -exec chmod 0755 {} +
mkdir -p "$OUT"
deb=$OUT/rookery_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$deb" >&2
echo "$deb"
