#!/usr/bin/env bash
# The origin side of cross-release dedup: how much the repository grows when the next release,
# sharing most of its bytes with the last, is published. Release A: FILES files of random bytes
# (sizes 64 KiB to 4 MiB) plus an empty file and a symlink; B: A with two files changed, one
# renamed into a new folder, one removed and one added (about 5% new bytes). Growth is measured
# with du (hard-linked files counted once), against B's new bytes; the same B published into a
# repository without A is the baseline (everything new).
#
#   scripts/bench/publish_dedup.sh [--files N] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
FILES=40
OUT=bench-results
while (($#)); do
  case $1 in
    --files) FILES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
source scripts/lib/cluster.sh
rk_bench_init "$OUT" "uses the build's binary"
A=$RK_WORK/a
B=$RK_WORK/b
mkdir -p "$A/lib" "$A/assets"
for ((i = 1; i <= FILES; i++)); do
  size=$(( (RANDOM % 64 + 1) * 64 * 1024 ))
  head -c "$size" /dev/urandom >"$A/assets/file$i.bin"
done
head -c $((2 * 1024 * 1024)) /dev/urandom >"$A/lib/libapp.so"
head -c $((1024 * 1024)) /dev/urandom >"$A/app"
chmod +x "$A/app"
: >"$A/empty"
ln -s lib/libapp.so "$A/libapp-link.so"
cp -a "$A" "$B"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$B/lib/libapp.so"   # changed
head -c $((1024 * 1024)) /dev/urandom >"$B/app"                 # changed
mkdir -p "$B/moved" && mv "$B/assets/file1.bin" "$B/moved/renamed.bin"  # renamed, same bytes
rm "$B/assets/file2.bin"                                        # removed
head -c $((512 * 1024)) /dev/urandom >"$B/assets/added.bin"     # added
new_bytes=$(( 2 * 1024 * 1024 + 1024 * 1024 + 512 * 1024 ))
b_bytes=$(find "$B" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

repo_bytes() { du -sb --apparent-size "$1" | cut -f1; }
"$RK_BIN" publish "$A" --repo "$RK_WORK/repo" --version A >/dev/null 2>&1
before=$(repo_bytes "$RK_WORK/repo")
"$RK_BIN" publish "$B" --repo "$RK_WORK/repo" --version B 2>/dev/null | tee "$RK_WORK/publish-b.txt"
after=$(repo_bytes "$RK_WORK/repo")
"$RK_BIN" publish "$B" --repo "$RK_WORK/alone" --version B >/dev/null 2>&1
alone=$(repo_bytes "$RK_WORK/alone")

python3 - "$b_bytes" "$new_bytes" "$before" "$after" "$alone" <<'PY' | tee "$RK_OUT/publish_dedup.md"
import sys
b, new, before, after, alone = map(int, sys.argv[1:])
growth = after - before
print(f"\nrelease B: {b / 2**20:.1f} MiB in files, {new / 2**20:.2f} MiB of it new against A ({100 * new / b:.1f}%)\n")
print("| publish of B | repository growth | / B's new bytes |")
print("|---|---|---|")
print(f"| into a repository holding A (content pool) | {growth / 2**20:.2f} MiB | **{growth / new:.3f}x** (target <= 1.05x) |")
print(f"| into an empty repository (baseline: all of B stored) | {alone / 2**20:.2f} MiB | {alone / new:.2f}x |")
PY
