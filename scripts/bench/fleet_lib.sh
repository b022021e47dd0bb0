# shellcheck shell=bash disable=SC2034  # the variables set here are for the benchmark sourcing this
# What the fleet-scale benchmarks (fanout.sh, herd.sh) share: host counts with per-count link rates,
# one lab per host count, and the measurement of one transfer. A transfer is measured the same way
# in every mode: the clock, /proc/stat, the origin's and the hosts' byte counters are read at its
# start (fleet_begin); every host writes the time it finished to RUN/I.done (seconds since the epoch,
# first field); fleet_wait waits for all of them under one deadline; fleet_end appends one row to
# $FLEET_RESULTS, which scripts/bench/fleet_report.py reads. A host writes RUN/I.done whole (a
# temporary file renamed), so a file that exists is complete. Sources scripts/lib/cluster.sh and
# scripts/lab/lab.sh.
#
#   fleet_option ARGS...       one option every fleet benchmark takes (--hosts, --size-mib, --mbit,
#                              --piece-size, --limit, --timeline, --out) into HOSTS, SIZE_MIB, MBIT,
#                              PIECE, LIMIT, TIMELINE, OUT; FLEET_SHIFT = the words it took; an
#                              unknown option exits 2
#   fleet_init OUT NAME TIMELINE   rk_bench_init OUT; sets FLEET_OUT (absolute), FLEET_RESULTS, SRC
#                              (an empty directory for the release); TIMELINE=1: see FLEET_TIMELINE
#   fleet_labs HOSTS MBIT SRC PIECE CMD...   for every host count: fleet_lab, CMD, teardown
#   fleet_hosts HOSTS MBIT     "N:MBIT" per entry of HOSTS ("16 32", or "16:40 32:20" for a rate
#                              per host count; an entry without :RATE gets MBIT)
#   fleet_lab SPEC SRC PIECE [PUBLISH_ARGS]   a lab of N hosts + origin at MBIT (SPEC = N:MBIT),
#                              SRC published as 1.0; sets N, MBIT, REPO, PIECE_USED, F (bytes),
#                              BOUND_S (F at one link's rate, seconds)
#   fleet_run MODE             a fresh directory for one mode's run (printed)
#   fleet_seed                 `rookery seed` on the origin, back once it seeds 1.0; sets FLEET_SEEDER
#   fleet_begin MODE [PIDS]    start of MODE's transfer; PIDS: processes whose CPU time to count
#   fleet_wait RUN LIMIT       until N hosts have RUN/I.done, at most LIMIT s after fleet_begin
#   fleet_end RUN [EXTRA]      append the row (EXTRA: one more word for the report)
#   fleet_computed MODE SECONDS   a row for a mode not run but computed (every host at SECONDS)
#   fleet_count RUN EXT...     how many files RUN/*.EXT exist
#   fleet_have RUN EXT...      true once there are N
#   fleet_stamp FILE           write the time to FILE atomically
#   fleet_stop PIDS            TERM, then KILL what is left after 20 s
# With FLEET_TIMELINE (fleet_init ... 1), fleet_begin samples the lab's rates (lab_rates) every
# 0.5 s into OUT/NAME_timeline_N_MODE.txt until fleet_end.

source scripts/lib/cluster.sh
source scripts/lab/lab.sh
FLEET_TIMELINE=
FLEET_HZ=$(getconf CLK_TCK)
# Defaults of the options fleet_option parses, for a script that does not set its own.
PIECE=${PIECE:-0}  # publish's default
LIMIT=${LIMIT:-0}  # the script's own multiple of the bound
OUT=${OUT:-bench-results}
TIMELINE=${TIMELINE:-0}

fleet_option() {
  FLEET_SHIFT=2
  case $1 in
    --hosts) HOSTS=$2 ;;
    --size-mib) SIZE_MIB=$2 ;;
    --mbit) MBIT=$2 ;;
    --piece-size) PIECE=$2 ;;
    --limit) LIMIT=$2 ;;
    --out) OUT=$2 ;;
    --timeline) TIMELINE=1 FLEET_SHIFT=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
}

fleet_init() {
  rk_bench_init "$1" "network namespaces, tc, FUSE"
  FLEET_OUT=$RK_OUT
  FLEET_RESULTS=$RK_WORK/results.txt
  : >"$FLEET_RESULTS"
  if (($3)); then FLEET_TIMELINE=$FLEET_OUT/${2}_timeline; fi
  SRC=$RK_WORK/src
  mkdir -p "$SRC"
}

fleet_hosts() {
  local entry
  for entry in $1; do
    [[ $entry == *:* ]] && echo "$entry" || echo "$entry:$2"
  done
}

fleet_lab() {
  local spec=$1 src=$2 piece=$3
  shift 3
  N=${spec%%:*} MBIT=${spec#*:}
  ((N * MBIT <= 640)) || rk_log "warning: $N hosts x $MBIT Mbit/s is above ~640 Mbit/s: the emulator may be what is measured"
  rk_log "N=$N: building the lab ($((N + 1)) hosts at $MBIT Mbit/s)"
  lab_up "$N" "$MBIT"
  REPO=$RK_WORK/repo-$N-$MBIT
  lab_origin "$REPO"
  lab_publish "$src" "$REPO" 1.0 "$piece" "$@"
  PIECE_USED=$(lab_piece_size "$REPO" 1.0)
  F=$(find "$REPO/data/1.0" -type f -printf '%s\n' | awk '{f += $1} END {print f}')
  BOUND_S=$(awk -v f="$F" -v m="$MBIT" 'BEGIN {print f * 8 / (m * 1e6)}')
}

fleet_labs() {
  local spec
  for spec in $(fleet_hosts "$1" "$2"); do
    fleet_lab "$spec" "$3" "$4"
    "${@:5}"
    lab_down
    rm -rf "$REPO/data"
  done
}

fleet_run() {
  local run=$RK_WORK/run-$N-$MBIT-$1
  mkdir -p "$run"
  echo "$run"
}

fleet_seed() {
  rm -f "$REPO.seed.log"  # the wait below must not see a previous seeder's log
  lab_seed "$REPO"
  FLEET_SEEDER=$LAB_SEEDER_PID
  rk_wait_for 20 grep -q "seeding 1.0" "$REPO.seed.log" || { rk_log "the seeder did not start"; return 1; }
}

# CPU clock ticks (user + system) so far of PIDS and every process below them (a mount daemon
# serves from a child process), counting children already reaped by their parents.
fleet_ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$*" '
    {
      pid = $1
      sub(/^[0-9]+ \(.*\) /, "")  # after pid and (comm), fields count from state = 1
      parent[pid] = $2; ticks[pid] = $12 + $13 + $14 + $15
    }
    END {
      n = split(roots, r, " ")
      for (i = 1; i <= n; i++) wanted[r[i]] = 1
      for (p in ticks)
        for (q = p; q in ticks; q = parent[q])
          if (q in wanted) { total += ticks[p]; break }
      print total + 0
    }'
}

# Jiffies of both cores so far: all, and idle (iowait counted idle: a core waiting for the disk is
# free to run anything else).
fleet_cpu() { awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8, $5 + $6}' /proc/stat; }

fleet_begin() {
  FLEET_MODE=$1
  shift
  FLEET_PIDS=("$@")
  FLEET_TICKS0=$(fleet_ticks "$@")
  FLEET_SENT0=$(lab_sent 0)
  FLEET_RECEIVED0=$(lab_received $(seq "$N"))
  FLEET_CPU0=$(fleet_cpu)
  FLEET_SAMPLER=
  if [[ -n $FLEET_TIMELINE ]]; then
    lab_rates "$N" >"${FLEET_TIMELINE}_${N}_$FLEET_MODE.txt" &
    FLEET_SAMPLER=$!
    RK_PIDS+=("$FLEET_SAMPLER")
  fi
  FLEET_START=$(date +%s.%N)
  FLEET_SECONDS0=$SECONDS
}

fleet_count() {
  local ext f n=0
  for ext in "${@:2}"; do
    for f in "$1"/*."$ext"; do [[ -e $f ]] && n=$((n + 1)); done
  done
  echo "$n"
}

fleet_have() { (($(fleet_count "$@") >= N)); }

fleet_wait() {
  FLEET_LIMIT=$2
  local run=$1 deadline=$((FLEET_SECONDS0 + $2))
  until fleet_have "$run" "done" || ((SECONDS >= deadline)); do sleep 0.2; done
}

fleet_end() {
  local run=$1 extra=${2:--} total0 idle0 total idle ticks=-1 times
  read -r total idle <<<"$(fleet_cpu)"
  read -r total0 idle0 <<<"$FLEET_CPU0"
  ((${#FLEET_PIDS[@]})) && ticks=$(($(fleet_ticks "${FLEET_PIDS[@]}") - FLEET_TICKS0))
  if [[ -n $FLEET_SAMPLER ]]; then
    fleet_kill_tree "$FLEET_SAMPLER"
    wait "$FLEET_SAMPLER" 2>/dev/null || true  # reaped here, without bash's "Terminated"
  fi
  times=$(find "$run" -maxdepth 1 -name '*.done' -exec cat {} + |
    awk -v t0="$FLEET_START" 'NF {printf "%s%.3f", sep, $1 - t0; sep = ","}')
  # N MBIT MODE KIND LIMIT ORIGIN_SENT RECEIVED BUSY_JIFFIES ALL_JIFFIES PROCESS_TICKS HZ EXTRA TIMES
  echo "$N $MBIT $FLEET_MODE measured $FLEET_LIMIT $(($(lab_sent 0) - FLEET_SENT0))" \
    "$(($(lab_received $(seq "$N")) - FLEET_RECEIVED0)) $(((total - total0) - (idle - idle0)))" \
    "$((total - total0)) $ticks $FLEET_HZ $extra ${times:--}" >>"$FLEET_RESULTS"
  rk_log "N=$N $FLEET_MODE: $(fleet_count "$run" "done")/$N hosts done${times:+, the last $(tr , '\n' <<<"$times" | sort -n | tail -1) s after the start}"
}

fleet_computed() {
  local times i
  times=$(for ((i = 0; i < N; i++)); do echo "$2"; done | paste -sd,)
  echo "$N $MBIT $1 computed 0 0 0 0 0 -1 $FLEET_HZ - $times" >>"$FLEET_RESULTS"
}

fleet_kill_tree() {  # PID and every process below it (lab_rates is a pipeline in a subshell)
  local children pid
  children=$(pgrep -P "$1") || true
  kill "$1" 2>/dev/null || true  # the parent first: it must not see (and report) its children die
  for pid in $children; do fleet_kill_tree "$pid"; done
}

fleet_stamp() { date +%s.%N >"$1.tmp" && mv "$1.tmp" "$1"; }

fleet_stop() {
  local pid
  kill -TERM "$@" 2>/dev/null || true
  for pid in "$@"; do rk_wait_for 20 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true; done
}
