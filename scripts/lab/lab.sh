# shellcheck shell=bash
# The swarm lab: N+1 hosts as network namespaces on one bridge, every host link shaped with tc tbf
# in both directions (this kernel has tbf but not netem, so latency stays sub-millisecond). Host 0
# is the origin. The bridge lives in its own namespace, the root namespace is untouched, and no
# namespace has a route out: traffic stays on the lab's own addresses (10.77.0.0/24). Sourced by
# the benchmarks after scripts/lib/cluster.sh; lab_up installs teardown into rk_cleanup's path.
#
#   lab_up N MBIT        hosts 0..N (0 = origin), each link MBIT Mbit/s up and down
#   lab_ip I             address of host I
#   lab_exec I CMD...    run CMD inside host I (a function: to background a daemon and keep its
#                        pid, call `ip netns exec "$(lab_ns I)" CMD &` directly)
#   lab_down             delete every namespace of this lab (also done on exit)

LAB_PREFIX=rklab$$
LAB_HOSTS=0

lab_ip() { echo "10.77.0.$(($1 + 1))"; }
lab_ns() { echo "$LAB_PREFIX-h$1"; }
lab_exec() {
  local i=$1
  shift
  ip netns exec "$(lab_ns "$i")" "$@"
}

lab_shape() {  # lab_shape NS DEV MBIT
  # burst: enough for a few ms at line rate, at least 64 KiB so TCP segments pass whole.
  local burst=$(($3 * 1000000 / 8 / 250))
  ((burst < 65536)) && burst=65536
  ip netns exec "$1" tc qdisc add dev "$2" root tbf rate "${3}mbit" burst "$burst" latency 100ms
}

lab_up() {
  local n=$1 mbit=$2 i
  LAB_HOSTS=$n
  ip netns add "$LAB_PREFIX-br"
  ip -n "$LAB_PREFIX-br" link add br0 type bridge
  ip -n "$LAB_PREFIX-br" link set br0 up
  for ((i = 0; i <= n; i++)); do
    local ns
    ns=$(lab_ns "$i")
    ip netns add "$ns"
    ip link add "rkv$$h$i" netns "$ns" type veth peer name "rkb$$h$i" netns "$LAB_PREFIX-br"
    ip -n "$ns" link set "rkv$$h$i" name eth0
    ip -n "$ns" addr add "$(lab_ip "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$LAB_PREFIX-br" link set "rkb$$h$i" master br0
    ip -n "$LAB_PREFIX-br" link set "rkb$$h$i" up
    lab_shape "$ns" eth0 "$mbit"                      # host upload
    lab_shape "$LAB_PREFIX-br" "rkb$$h$i" "$mbit"     # host download
  done
}

lab_down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$LAB_PREFIX-"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
}
