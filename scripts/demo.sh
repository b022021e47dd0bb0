#!/usr/bin/env bash
# The rookery demo: a release with a real executable and 400 MiB of assets is published, seeded
# and mounted on two app hosts on loopback. The executable runs from the mount seconds before the
# release has landed; the second host fetches from the first as well as from the origin; a deploy
# flips a symlink. Everything is torn down at the end (or on Ctrl-C).
#
#   scripts/demo.sh [--seed-rate BYTES_PER_S]   (default 40 MB/s: the origin's uplink)
set -euo pipefail
cd "$(dirname "$0")/.."
SEED_RATE=40000000
[[ ${1:-} == --seed-rate ]] && SEED_RATE=$2

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
source scripts/lib/cluster.sh
rk_init
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "building release myapp 1.4.2 (an executable + 400 MiB of assets)"
SRC=$RK_WORK/myapp-1.4.2
mkdir -p "$SRC/bin" "$SRC/config" "$SRC/assets"
gcc -O2 -o "$SRC/bin/myapp" scripts/demo/myapp.c
echo "listen=8080" >"$SRC/config/app.conf"
for i in 0 1 2 3; do head -c $((100 * 1024 * 1024)) /dev/urandom >"$SRC/assets/pack$i.bin"; done
ln -s bin/myapp "$SRC/start"

say "origin: opentracker, nginx (catalog), publish, rookery seed (uplink limited to $((SEED_RATE / 1000000)) MB/s)"
REPO=$RK_WORK/origin/repo
rk_start_tracker "$REPO"
rk_start_nginx "$REPO"
"$RK_BIN" publish "$SRC" --repo "$REPO" --version 1.4.2 --tracker "$RK_TRACKER_URL" \
  --tracker-pid-file "$RK_TRACKER_PIDFILE" >/dev/null
rk_start_seeder "$REPO" --max-upload-rate "$SEED_RATE"
sleep 1

say "app hosts: two mount daemons (own caches and ports) at host1/releases and host2/releases"
rk_start_mount host1 "$RK_WORK/host1/releases" "$RK_CATALOG_URL" --fetch background
rk_start_mount host2 "$RK_WORK/host2/releases" "$RK_CATALOG_URL" --fetch background
echo "   ls host1/releases: $(ls "$RK_WORK/host1/releases" | tr '\n' ' ')"

t0=$(now)
tree=$(ls -l "$RK_WORK/host1/releases/1.4.2/assets" | wc -l)
echo "   first lookup of 1.4.2 (fetch torrent, join swarm, whole tree from metadata): $(since "$t0") s, $((tree - 1)) assets listed"

for host in host1 host2; do
  t0=$(now)
  out=$("$RK_WORK/$host/releases/1.4.2/bin/myapp" 1.4.2)
  took=$(since "$t0")
  sleep 1.1
  echo "   $host: \`releases/1.4.2/bin/myapp\` printed \"$out\" after $took s;" \
    "release verified on this host then: $(rk_status "$host" 1.4.2 pieces_verified) of $(rk_status "$host" 1.4.2 pieces_total) pieces"
done

say "deploy: rookery activate 1.4.2 --link host1/srv/myapp/current (atomic symlink flip)"
mkdir -p "$RK_WORK/host1/srv/myapp"
echo "   $("$RK_BIN" activate 1.4.2 --link "$RK_WORK/host1/srv/myapp/current" \
  --mount "$RK_WORK/host1/releases" --cache "$RK_WORK/host1-cache")"
echo "   $("$RK_WORK/host1/srv/myapp/current/start" 1.4.2)"

say "background fetch: both hosts land the whole release, trading pieces with each other"
t0=$(now)
for ((i = 0; i < 300; i++)); do
  line=""
  done_hosts=0
  for host in host1 host2; do
    v=$(rk_status "$host" 1.4.2 pieces_verified)
    t=$(rk_status "$host" 1.4.2 pieces_total)
    up=$(rk_status "$host" 1.4.2 bytes_uploaded_session)
    line+=$(printf '%s %3s%% (uploaded %4s MiB)   ' "$host" $((100 * ${v:-0} / ${t:-1})) $((${up:-0} / 1048576)))
    [[ -n $v && $v == "$t" ]] && done_hosts=$((done_hosts + 1))
  done
  echo "   t=$(since "$t0")s  $line"
  ((done_hosts == 2)) && break
  sleep 1
done
if ((done_hosts != 2)); then
  echo "   only $done_hosts of 2 hosts hold all of 1.4.2 after $(since "$t0") s: see $RK_WORK/host*.log" >&2
  exit 1
fi
echo "   both hosts hold all of 1.4.2 after $(since "$t0") s; each is now a full seed for the next hosts"
"$RK_BIN" status --cache "$RK_WORK/host1-cache" | sed 's/^/   /'
for host in host1 host2; do
  if cmp -s "$SRC/assets/pack3.bin" "$RK_WORK/$host/releases/1.4.2/assets/pack3.bin"; then
    echo "   $host: assets/pack3.bin is byte-identical to the source"
  else
    echo "   $host: assets/pack3.bin DIFFERS from the source" && exit 1
  fi
done
say "tearing down (mounts, daemons, tracker, nginx)"
