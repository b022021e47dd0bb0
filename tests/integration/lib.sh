# shellcheck shell=bash
# Assertions for the integration tests. Each test script sources this, starts its swarm with
# scripts/lib/cluster.sh (which tears everything down on exit) and ends with `finish`.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lib/cluster.sh
source "$ROOT/scripts/lib/cluster.sh"
READCHECK=${READCHECK:-$ROOT/build/tests/rookery_readcheck}
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"; [[ -n ${2:-} ]] && printf '      %s\n' "$2"; }

# check DESCRIPTION COMMAND...: passes when COMMAND exits 0.
check() {
  local what=$1
  shift
  local out
  if out=$("$@" 2>&1); then pass "$what"; else fail "$what" "$(tail -5 <<<"$out")"; fi
}

# rk_landed NAME VERSION: the daemon's status lists VERSION with every piece verified (a missing
# status or release is not landed: two empty fields are not "equal").
rk_landed() {
  local total verified
  total=$(rk_status "$1" "$2" pieces_total)
  verified=$(rk_status "$1" "$2" pieces_verified)
  [[ -n $total && $verified == "$total" ]]
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# check_errno DESCRIPTION ERRNO_NAME PYTHON_STATEMENT: the statement must raise OSError with that errno.
check_errno() {
  local got
  got=$(timeout -s KILL 20 python3 -c "
import errno, os, sys
try:
    $3
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno)); sys.exit(0)
print('no error')" 2>&1)
  check_eq "$1" "$2" "$got"
}

# start_origin BIG_MIB: checks the machine, starts the work directory (torn down on exit), makes
# a release tree in $SRC with a BIG_MIB MiB file, starts opentracker for $REPO and publishes 1.0.
start_origin() {
  if [[ $(id -u) -ne 0 || ! -e /dev/fuse ]]; then
    echo "integration tests need root and /dev/fuse (run scripts/test.sh as root)" >&2
    exit 1
  fi
  rk_init
  SRC=$RK_WORK/src
  REPO=$RK_WORK/repo
  make_release "$SRC" "$1"
  rk_start_tracker "$REPO"
  publish --version 1.0
}

# publish --version V [ARGS]: publishes $SRC into $REPO (256 KiB pieces), admitted by the tracker.
publish() {
  "$RK_BIN" publish "$SRC" --repo "$REPO" --tracker "$RK_TRACKER_URL" \
    --tracker-pid-file "$RK_TRACKER_PIDFILE" --piece-size 262144 "$@" >/dev/null
}

# start_takeover_origin: start_origin 32 plus release 1.1 shipping rookery_steady_reader (as
# bin/steady_reader); MNT and BIG (its 32 MiB file through the mount); MOUNT_BIN, a copy of the
# binary for the mount to run, so a test can put a new one on disk.
start_takeover_origin() {
  local reader=${STEADY_READER:-$ROOT/build/tests/rookery_steady_reader}
  start_origin 32
  cp "$reader" "$SRC/bin/steady_reader"
  publish --version 1.1
  MNT=$RK_WORK/mnt
  BIG=$MNT/1.1/data/big.bin
  mkdir -p "$RK_WORK/bin" "$MNT"
  cp "$RK_BIN" "$RK_WORK/bin/rookery"
  MOUNT_BIN=$RK_WORK/bin/rookery
}

# hold_open FILE [PREFIX...]: a program (run by PREFIX, e.g. rk_in_mount) opens FILE and holds it
# until $RK_WORK/go exists, then drops its page cache and reads it; it prints "no error" or the
# errno's name to $RK_WORK/held.out. Sets HOLDER (its pid) once the file is open.
hold_open() {
  local file=$1
  shift
  "$@" timeout -s KILL 60 python3 -c "
import errno, os, sys, time
fd = os.open('$file', os.O_RDONLY)
open('$RK_WORK/held', 'w').close()
while not os.path.exists('$RK_WORK/go'): time.sleep(0.05)
try:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.pread(fd, 10, 0); print('no error')
except OSError as e:
    print(errno.errorcode[e.errno])" >"$RK_WORK/held.out" 2>&1 &
  HOLDER=$!
  RK_PIDS+=("$HOLDER")
  rk_wait_for 10 test -e "$RK_WORK/held"
}

# stop_steady_reader PID REPORT STOPFILE: asks rookery_steady_reader to stop and checks that it
# ends (bounded: a program whose request was lost would wait for ever) with every byte exact.
stop_steady_reader() {
  local pid=$1 report=$2
  touch "$3"
  rk_wait_for 30 bash -c "! kill -0 $pid" || { fail "the program finishes (it hangs in a read)"; kill -KILL "$pid"; }
  wait "$pid"
  local status=$?
  check_eq "the program exits 0: every byte exact, no error, no SIGBUS ($(cat "$report"))" "0" "$status"
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
}

# make_release DIR BIG_MIB: a release tree with the shapes the mount must show.
make_release() {
  local dir=$1 big=$2
  mkdir -p "$dir/bin" "$dir/lib/deep/er" "$dir/data" "$dir/config"
  cat >"$dir/bin/hello" <<'SH'
#!/bin/sh
echo "hello from rookery $(cat "$(dirname "$0")/../config/app.conf")"
SH
  chmod 755 "$dir/bin/hello"
  echo "version=1" >"$dir/config/app.conf"
  : >"$dir/config/empty"
  head -c 1000000 /dev/urandom >"$dir/lib/deep/er/lib.so"
  head -c $((big * 1024 * 1024)) /dev/urandom >"$dir/data/big.bin"
  head -c 12345 /dev/urandom >"$dir/data/odd-size.bin"
  ln -s ../bin/hello "$dir/data/hello-link"
  ln -s deep/er "$dir/lib/shortcut"
  touch -d '2025-01-02 03:04:05' "$dir/config/app.conf"
}

# Compares the trees (names, types, sizes, modes' execute bit, symlink targets, mtimes, bytes).
compare_trees() {
  python3 - "$1" "$2" <<'PY'
import hashlib, os, stat, sys
src, mnt = sys.argv[1:]
def walk(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
                out[rel] = ("file", st.st_size, bool(st.st_mode & 0o100), int(st.st_mtime), h)
    return out
a, b = walk(src), walk(mnt)
bad = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
for k in bad[:5]:
    print("differs:", k, a.get(k), b.get(k))
sys.exit(1 if bad else 0)
PY
}
