#!/usr/bin/env bash
# Sets up the machine, builds rookery and runs every test (unit and integration). Run as root on
# Debian 12: the integration tests mount FUSE filesystems and start opentracker and nginx on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
cd build
ctest --output-on-failure "$@"
