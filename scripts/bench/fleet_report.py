"""What the fleet benchmarks' reports (fanout.sh, herd.sh) share: their rows, per-host finish-time
spreads, CPU per GiB, table cells and the plot of time / bound against the number of hosts.

scripts/bench/fleet_lib.sh writes one row per host count and mode:
    N MBIT MODE KIND LIMIT ORIGIN_SENT RECEIVED BUSY_JIFFIES ALL_JIFFIES PROCESS_TICKS HZ EXTRA TIMES
KIND is "measured", or "computed" for a mode too slow to run (then TIMES holds its computed time);
LIMIT the seconds the hosts were given; ORIGIN_SENT the bytes that left the origin's link,
RECEIVED the bytes that reached hosts 1..N (all of them together, protocol overhead included);
BUSY_JIFFIES and ALL_JIFFIES the machine's busy and total jiffies over the transfer (both cores,
/proc/stat; iowait counts as idle); PROCESS_TICKS the CPU ticks of the mode's own processes (-1: not counted); EXTRA one
word the benchmark adds; TIMES the seconds after the start at which each host finished ("-": none).
A host that did not finish within LIMIT has no time: a row is complete only with N of them.
"""
import math
import statistics
from dataclasses import dataclass


@dataclass
class Row:
    n: int
    mbit: float
    mode: str
    computed: bool
    limit: float
    origin_sent: int
    received: int
    busy_jiffies: int
    all_jiffies: int
    process_ticks: int
    hz: int
    extra: str
    times: list

    @property
    def done(self):
        return len(self.times)

    @property
    def complete(self):
        return self.done == self.n

    @property
    def last(self):
        """Seconds until the last host finished; nan when some host did not finish in time."""
        return self.times[-1] if self.complete else math.nan

    @property
    def rate(self):
        """Bytes per second of every link."""
        return self.mbit * 1e6 / 8

    def busy_pct(self):
        return 100 * self.busy_jiffies / max(1, self.all_jiffies)

    def cpu_per_gib(self, delivered):
        """Busy CPU-seconds of the whole machine per GiB delivered (both cores, softirq included)."""
        return self.busy_jiffies / self.hz / (delivered / 2**30)

    def process_cpu_per_gib(self, delivered):
        return self.process_ticks / self.hz / (delivered / 2**30) if self.process_ticks >= 0 else math.nan


def read_rows(path):
    rows = []
    for line in open(path):
        f = line.split()
        if not f:
            continue
        times = sorted(float(t) for t in f[12].split(",")) if f[12] != "-" else []
        rows.append(Row(int(f[0]), float(f[1]), f[2], f[3] == "computed", float(f[4]),
                        *map(int, f[5:11]), f[11], times))
    return rows


def num(x, fmt=".2f", unit=""):
    return "-" if x is None or math.isnan(x) else f"{x:{fmt}}{unit}"


def time_cell(row):
    if row.computed:
        return f"{row.last:.1f} s (computed)"
    if row.complete:
        return f"{row.last:.1f} s"
    return f"not done in {row.limit:.0f} s"


def ratio_cell(row, base):
    """row's time over base (seconds); '> x' when some host did not finish within the limit."""
    if row.complete:
        return num(row.last / base)
    return f"> {row.limit / base:.1f}"


def spread_cells(row):
    """'first / median / last' host finish times and last/first."""
    if not row.times:
        return "-", "-"
    t = row.times
    last = f"{t[-1]:.1f}" if row.complete else f"(>{row.limit:.0f})"
    cell = f"{t[0]:.1f} / {statistics.median(t):.1f} / {last}" if row.complete else \
        f"{t[0]:.1f} / - / {last}"
    return cell, num(t[-1] / t[0]) if row.complete and t[0] > 0 else "-"


def busy_cell(row):
    return "-" if row.computed else f"{row.busy_pct():.0f}%"


def plot(path, title, series, hosts):
    """series: label -> [(n, time / bound or nan, complete, computed)]; hosts: [(n, mbit)]."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (label, points) in enumerate(series.items()):
        color = f"C{i}"
        done = [(n, y) for n, y, complete, computed in points if complete]
        ax.plot([p[0] for p in done], [p[1] for p in done], "o-", color=color, label=label)
        for n, y, complete, computed in points:
            if computed:
                ax.plot([n], [y], "o", mfc="white", color=color)
                ax.annotate("computed", (n, y), fontsize=7, textcoords="offset points", xytext=(4, 4))
            elif not complete:  # y is the limit: the real time is above it
                ax.plot([n], [y], "^", color=color)
                ax.annotate("not all done", (n, y), fontsize=7, textcoords="offset points", xytext=(4, 4))
    ax.axhline(1, color="k", ls="--", lw=0.8, label="lower bound")
    ys = [y for points in series.values() for _, y, _, _ in points if y > 0 and not math.isnan(y)]
    if ys and max(ys) > 20:  # one server's time grows with N: keep the swarms readable next to it
        ax.set_yscale("log")
        ticks = [t for t in (1, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500) if t <= 1.5 * max(ys)]
        ax.set_yticks(ticks)
        ax.set_yticklabels([f"{t:g}" for t in ticks])
    ax.set_xscale("log", base=2)
    ax.set_xticks([n for n, _ in hosts])
    ax.set_xticklabels([f"{n}\n{mbit:g} Mbit/s" for n, mbit in hosts])
    ax.set_xlabel("hosts (link rate)")
    ax.set_ylabel("time until the last host / lower bound")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"\nplot: {path}")
