#!/usr/bin/env bash
# The Debian package: scripts/package.sh builds it (from this test's build), lintian reports no
# error, dpkg installs it, the installed binary and man pages work, systemd accepts the units,
# nothing is enabled by the installation, and a purge leaves the machine as it was.
source "$(dirname "$0")/lib.sh"
if dpkg-query -W -f='${Status}' rookery 2>/dev/null | grep -q "install ok installed"; then
  echo "a rookery package is installed on this machine already: not touching it" >&2
  exit 1
fi
rk_init
BUILD_DIR=$(dirname "$RK_BIN")
deb=$(bash "$ROOT/scripts/package.sh" --build-dir "$BUILD_DIR" --out "$RK_WORK/dist" 2>"$RK_WORK/package.log" | tail -1)
check "scripts/package.sh builds rookery_<version>_<arch>.deb" \
  bash -c "[[ '$deb' =~ /rookery_[0-9.]+_$(dpkg --print-architecture)\.deb$ && -s '$deb' ]]"
TMPDIR=$RK_WORK lintian "$deb" >"$RK_WORK/lintian.txt" 2>&1  # its temporary files go with the work dir
check "lintian reports no error" bash -c "! grep -q '^E:' '$RK_WORK/lintian.txt'"
grep '^[WI]:' "$RK_WORK/lintian.txt" | sed 's/^/      lintian: /'
check_eq "its dependencies come from the binary (dpkg-shlibdeps)" "yes" \
  "$(dpkg-deb -f "$deb" Depends | grep -q 'libtorrent-rasterbar2.0 (>= ' && dpkg-deb -f "$deb" Depends | grep -q 'libfuse3-3 (>= ' && echo yes)"

RK_ON_EXIT+=("dpkg-query -W rookery >/dev/null 2>&1 && dpkg --purge rookery >/dev/null 2>&1")
check "dpkg -i installs it" dpkg -i "$deb"
dpkg -L rookery >"$RK_WORK/files.txt"
check "rookery --version names the libraries" bash -c "/usr/bin/rookery --version | grep -q '^rookery [0-9.]* (libtorrent-rasterbar 2\.0\.[0-9.]*, libfuse 3\.[0-9.]*)$'"
check "man rookery" bash -c "MANWIDTH=200 man -P cat rookery 2>/dev/null | grep -Eq 'rookery +- +deliver +releases'"
check "a man page per subcommand, from its --help" bash -c \
  "MANWIDTH=80 man -P cat rookery-mount 2>/dev/null | grep -q -- '--holder'"
check "man mount.rookery" bash -c "MANWIDTH=80 man -P cat 8 mount.rookery 2>/dev/null | grep -q 'cache=DIR'"
check "the example configuration is installed as a conffile" \
  bash -c "dpkg-query -W -f='\${Conffiles}' rookery | grep -q /etc/default/rookery"
check "the fstab mount's log is rotated (logrotate accepts the file)" logrotate -d /etc/logrotate.d/rookery
for unit in rookery-mount rookery-seed opentracker-rookery; do
  check "systemd-analyze verify $unit.service" systemd-analyze verify "/lib/systemd/system/$unit.service"
  check_eq "installing enables nothing: $unit" "disabled" "$(systemctl is-enabled "$unit.service" 2>/dev/null)"
done
check "dpkg --purge removes it" dpkg --purge rookery
left=$(while read -r f; do [[ ! -d $f && ( -e $f || -L $f ) ]] && echo "$f"; done <"$RK_WORK/files.txt")
check_eq "and leaves none of its files" "" "$left"
check "not even its configuration" test ! -e /etc/default/rookery
finish
