#!/usr/bin/env python3
"""Draws bench/run.py's results as a PNG: per case, mp / CPython / raw baselines, time per op.

  bench/chart.py RESULTS.json OUT.png

RESULTS.json is what run.py writes: {"title": str, "groups": {case: {variant: seconds}}}. Kept
apart from run.py because matplotlib may live only in another interpreter (Debian's
python3-matplotlib installs for /usr/bin/python3); run.py calls this with one that has it.
Exits 3 when matplotlib cannot be imported.
"""
import json
import sys


def kind(variant):
    """Colour class of a variant: mp itself, CPython (its multiprocessing or pickle), or a raw
    OS or library baseline."""
    if variant == "mp":
        return "mp"
    if variant.startswith(("cpython", "pickle")):
        return "CPython"
    return "raw / library baseline"


COLOURS = {"mp": "#1f77b4", "CPython": "#ff7f0e", "raw / library baseline": "#7f7f7f"}


def fmt_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def draw(results, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
        from matplotlib.ticker import FuncFormatter, LogLocator
    except ImportError:
        return False

    # One row per (case, variant), mp first in each case, cases top to bottom in run order; a gap
    # between cases.
    rows, ticks, y = [], [], 0.0
    for case, variants in results["groups"].items():
        ordered = sorted(variants.items(), key=lambda kv: (list(COLOURS).index(kind(kv[0])), kv[0]))
        mine = variants.get("mp")
        first = y
        for variant, seconds in ordered:
            label = fmt_time(seconds)
            if variant != "mp":
                label += f"  {variant}"
                if mine:
                    label += f"  (mp / this: {mine / seconds:.2g})"
            rows.append((y, label, variant, seconds))
            y += 1
        ticks.append(((first + y - 1) / 2, case))
        y += 0.8

    fig, ax = plt.subplots(figsize=(11, 0.19 * y + 1.6))
    ax.barh([r[0] for r in rows], [r[3] for r in rows], height=0.85,
            color=[COLOURS[kind(r[2])] for r in rows])
    ax.set_xscale("log")
    for yy, label, _, seconds in rows:
        ax.text(seconds * 1.08, yy, label, va="center", fontsize=6.5)
    ax.set_yticks([t[0] for t in ticks], [t[1] for t in ticks], fontsize=7.5)
    ax.set_ylim(y - 0.3, -1)  # first case on top
    lo = min(r[3] for r in rows)
    hi = max(r[3] for r in rows)
    ax.set_xlim(lo / 2, hi * 40)  # room for the labels right of the longest bar
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda s, _: fmt_time(s)))
    ax.tick_params(axis="x", labelsize=8, labeltop=True, top=True)
    ax.grid(axis="x", which="major", linewidth=0.4, alpha=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("time per operation (log scale; shorter is faster)", fontsize=8)
    ax.set_title(results["title"], fontsize=9)
    ax.legend(handles=[Patch(color=c, label=k) for k, c in COLOURS.items()], fontsize=8,
              loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        results = json.load(f)
    sys.exit(0 if draw(results, sys.argv[2]) else 3)


if __name__ == "__main__":
    main()
