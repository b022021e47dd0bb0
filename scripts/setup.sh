#!/usr/bin/env bash
# Installs every Debian package rookery needs to build, test, demo and benchmark. Idempotent:
# packages already present are skipped, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libfuse3-dev fuse3
  libtorrent-rasterbar-dev libboost-dev libboost-system-dev
  libspdlog-dev libfmt-dev libgtest-dev
  libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev
  opentracker nginx-light curl
  python3-matplotlib python3-prometheus-client iproute2 procps psmisc util-linux aria2
  systemd-container help2man lintian logrotate
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: installing packages needs root (run as root or with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends keeps the image small; the packaged opentracker/nginx services are not
  # needed: tests and demos start their own instances on loopback.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts the packaged opentracker and nginx services on install. They are left alone:
# rookery's scripts run their own instances on free loopback ports (or inside the lab's
# namespaces), and this script also runs on origin hosts (package.sh), whose services are theirs.

# FUSE needs the device node (containers sometimes lack it).
if [[ ! -e /dev/fuse ]]; then
  mknod -m 0666 /dev/fuse c 10 229 2>/dev/null || echo "setup: warning: /dev/fuse missing" >&2
fi
echo "setup: ok"
