#!/usr/bin/env bash
# Two hosts and a seeder on loopback, catalog read from the repository directory (file://):
#  - host A (background fetch) runs the release's binary before the release has landed, then lands
#    the whole release (the origin hearing of every piece) and keeps seeding it;
#  - the seeder is killed; host B (lazy) still gets every byte, from A;
#  - the tracker admits only published info-hashes.
source "$(dirname "$0")/lib.sh"
start_origin 96
# 16 MB/s from the seeder: the release takes ~6 s to land, long enough to observe it landing.
rk_start_seeder "$REPO" --max-upload-rate 16000000
CATALOG=file://$REPO/
rk_start_mount a "$RK_WORK/mnt-a" "$CATALOG" --fetch background

check_eq "host A runs the binary" "hello from rookery version=1" "$("$RK_WORK/mnt-a/1.0/bin/hello")"
sleep 1.2  # status.json is rewritten every second
verified=$(rk_status a 1.0 pieces_verified)
total=$(rk_status a 1.0 pieces_total)
check "before the release had landed on A ($verified of $total pieces verified)" \
  test -n "$verified" -a -n "$total" -a "${verified:-0}" -lt "${total:-0}"
check "background fetch lands the whole release on A" rk_wait_for 120 rk_landed a 1.0
# A took every piece from the origin, which offered them all: A sends no HAVE to a peer that has
# the piece, except to a rookery origin, whose policy counts on hearing of every one.
check "the origin heard of every piece A gained" rk_wait_for 5 grep -q "every piece is held by a host" "$RK_WORK/seeder.log"

kill -TERM "$RK_SEEDER_PID"
check "seeder stopped" rk_wait_for 15 bash -c "! kill -0 $RK_SEEDER_PID"
rk_start_mount b "$RK_WORK/mnt-b" "$CATALOG" --fetch lazy --read-timeout 60
check "with the seeder gone, host B reads every file from host A" compare_trees "$SRC" "$RK_WORK/mnt-b/1.0"
sleep 1.2
check "host A uploaded to B" test "$(rk_status a 1.0 bytes_uploaded_session)" -gt 100000000

# The tracker admits published info-hashes only.
announce() {
  local hash
  hash=$(python3 -c "import sys, urllib.parse; print(urllib.parse.quote(bytes.fromhex(sys.argv[1])))" "$1")
  curl -s --max-time 5 "${RK_TRACKER_URL}?info_hash=${hash}&peer_id=-XX0001-abcdefghijkl&port=6000&uploaded=0&downloaded=0&left=1&compact=1" | tr -c '[:print:]' '.'
}
published=$(python3 -c "import json; print(json.load(open('$REPO/index.json'))['releases'][0]['infohash_v1'])")
reply=$(announce "$published")
check "tracker answers a published info-hash with peers ($reply)" grep -q '5:peers' <<<"$reply"
reply=$(announce "$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')")
check "tracker refuses an unpublished info-hash ($reply)" grep -q 'failure reason' <<<"$reply"
finish
