#!/usr/bin/env python3
"""How the pieces of one fan-out crossed the fleet (fanout.sh --spread).

Reads the mount daemons' debug logs (a line when a host has a piece whole and hash-checked) and the
origin's ("is sent the first block of piece P": the piece's birth), and prints, as medians over the
pieces: the time from birth to the first whole copy, the time each doubling of the holders took
(1 -> 2 -> 4 ... -> N), and, per second since the first host asked, the piece copies the hosts
received together as a share of what their links carry. A doubling at a link's full rate takes
one piece's transfer time; the hosts' share says whether the links or the schedule bind.

    piece_spread.py RUN_DIR SEED_LOG HOSTS MBIT PIECE_BYTES
"""
import collections
import datetime
import glob
import re
import statistics
import sys


def stamp(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def main(run, seed_log, hosts, mbit, piece_bytes):
    received = collections.defaultdict(list)  # piece -> times a host had it whole
    asked = []
    for path in glob.glob(f"{run}/mount-*.log"):
        for line in open(path, errors="replace"):
            if "prefetch requested" in line:
                asked.append(stamp(line))
            elif m := re.search(r"piece (\d+) received and hash-checked", line):
                received[int(m.group(1))].append(stamp(line))
    born = {}
    for line in open(seed_log, errors="replace"):
        if m := re.search(r"is sent the first block of piece (\d+)", line):
            born.setdefault(int(m.group(1)), stamp(line))
    if not asked or not received:
        print("piece spread: no per-piece lines in the logs (daemons not at --log-level debug?)")
        return
    t0 = min(asked)
    steps = [1]
    while steps[-1] * 2 < hosts:
        steps.append(steps[-1] * 2)
    steps.append(hosts)
    birth, doubling = [], collections.defaultdict(list)
    for piece, times in received.items():
        times.sort()
        if piece in born:
            birth.append(times[0] - born[piece])
        for a, b in zip(steps, steps[1:]):
            if len(times) >= b:
                doubling[b].append(times[b - 1] - times[a - 1])
    one_piece = piece_bytes * 8 / (mbit * 1e6)
    print(f"Piece spread, {hosts} hosts at {mbit:g} Mbit/s, {len(received)} pieces "
          f"(one piece at a link's rate: {one_piece:.2f} s), medians over the pieces:")
    if birth:
        print(f"  origin's first block -> first whole copy: {statistics.median(birth):.2f} s")
    print("  holders " + ", ".join(f"{a} -> {b}: {statistics.median(doubling[b]):.2f} s"
                                   for a, b in zip(steps, steps[1:]) if doubling[b]))
    per_second = collections.Counter(int(t - t0) for times in received.values() for t in times)
    capacity = hosts * mbit * 1e6 / 8 / piece_bytes
    print("  hosts' links used (piece copies received / capacity), per second since the first host asked: " +
          " ".join(f"{s}:{100 * per_second[s] / capacity:.0f}%" for s in range(max(per_second) + 1)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
