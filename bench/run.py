#!/usr/bin/env python3
"""Runs every mp benchmark beside its CPython twin, in one run, and prints mp / other ratios.

Each bench/<unit>_benchmark.cpp (Google Benchmark, built as <build>/bench/<unit>_benchmark) has a
twin bench/<unit>_bench.py whose CASES maps case names to functions(min_time) returning seconds
per operation. Cases are
named group/variant; in each group the variant 'mp' is compared with every other variant (raw
OS baselines and CPython). Timings on a shared machine are noisy; the ratios, measured in the
same run, are what to read.

  bench/run.py --build build/default [--min-time 0.3] [--write bench/RESULTS.md] [--filter RE]
               [--units codec,sync] [--chart bench/results.png] [--runs 3]

With --runs N the whole measurement is repeated N times; the table shows each variant's median
time and the lowest and highest of its N ratios (each from one run).

With --alternate M each program and its CPython twin are measured M times in alternation
(program, twin, program, ...) and each case's median is kept: an mp case and its CPython twin then
share the same seconds of a noisy machine.

With --repetitions K each C++ case is measured K times (each for --min-time) in a random
interleaving with the program's other cases (Google Benchmark's
--benchmark_enable_random_interleaving), and its median is used: an mp case and its raw baseline
then share the same minutes of a noisy machine instead of following each other.

A paired case (bench/support/paired.hpp: group_paired/baseline, measuring mp and the baseline
in alternation) reports counters `mp_s` and `base_s`, shown as the group's mp and baseline rows.

A case that reports counter `cpu_per_op` (seconds of CPU, all its processes together, per
operation) shows it beside its time; counters `<side>_peak_x` (a side's peak memory rise over the
message's size) likewise. With --write, a chart of the same results (bench/chart.py)
goes to --chart, bench/results.png unless told otherwise.
"""
import argparse
import datetime
import importlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
UNIT_SCALE = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def run_cpp(binary, min_time, pattern, repetitions=1):
    cmd = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_time}",
           "--benchmark_counters_tabular=false"]
    if repetitions > 1:
        cmd += [f"--benchmark_repetitions={repetitions}",
                "--benchmark_enable_random_interleaving=true"]
    if pattern:
        cmd.append(f"--benchmark_filter={pattern}")
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    try:
        benchmarks = json.loads(out)["benchmarks"]
    except (ValueError, KeyError):  # the filter matched nothing in this program
        return {}
    results = {}
    for b in benchmarks:
        if repetitions > 1:
            if b.get("aggregate_name") != "median":
                continue
        elif b.get("run_type") == "aggregate":
            continue
        # A case that performs several operations per iteration says how many in counter "ops".
        seconds = b["real_time"] * UNIT_SCALE[b["time_unit"]] / b.get("ops", 1)
        name = re.sub(r"/(real_time|manual_time|iterations:\d+|min_time:[\d.]+)", "",
                      b.get("run_name", b["name"]))
        if "mp_s" in b and "base_s" in b:  # a paired case (bench/support/paired.hpp)
            results[name] = {"seconds": b["base_s"]}
            results[name.rpartition("/")[0] + "/mp"] = {"seconds": b["mp_s"]}
            continue
        results[name] = {
            "seconds": seconds,
            **{k: v for k, v in b.items()
               if k.endswith(("_per_second", "_peak_x")) or k == "cpu_per_op"}}
    return results


def run_python(unit, min_time, pattern):
    """Runs the twin's CASES ({case name: function(min_time) -> seconds per operation})."""
    sys.path.insert(0, HERE)
    module = importlib.import_module(f"{unit}_bench")
    if hasattr(module, "setup"):
        module.setup()
    return {name: {"seconds": fn(min_time)} for name, fn in module.CASES.items()
            if not pattern or re.search(pattern, name)}


def fmt_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def median_groups(runs):
    """One result per variant: the run with the median time (its counters with it)."""
    merged = {}
    for groups in runs:
        for group, variants in groups.items():
            for variant, r in variants.items():
                merged.setdefault(group, {}).setdefault(variant, []).append(r)
    return {g: {v: sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2] for v, rs in vs.items()}
            for g, vs in merged.items()}


def write_chart(groups, title, out):
    """Draws the chart with bench/chart.py, in this interpreter if it has matplotlib, else in
    /usr/bin/python3 (where Debian's python3-matplotlib goes); a missing matplotlib or a failed
    drawing skips the chart with a line, never failing the run."""
    data = {"title": title,
            "groups": {g: {v: r["seconds"] for v, r in vs.items()} for g, vs in groups.items()}}
    try:
        sys.path.insert(0, HERE)
        import chart
        if chart.draw(data, out):
            print(f"Chart: {out}")
            return
        system = "/usr/bin/python3"
        if os.path.exists(system) and os.path.realpath(system) != os.path.realpath(sys.executable):
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(data, f)
            try:
                rc = subprocess.run([system, os.path.join(HERE, "chart.py"), f.name, out]).returncode
            finally:
                os.unlink(f.name)
            if rc == 0:
                print(f"Chart: {out} (drawn by {system})")
                return
            if rc != 3:
                print(f"Chart skipped: {system} bench/chart.py failed (exit status {rc}).")
                return
        print("Chart skipped: no Python here has matplotlib (Debian: python3-matplotlib).")
    except Exception as e:  # the table matters more than the picture
        print(f"Chart skipped: {e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "default"))
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--filter", default="")
    ap.add_argument("--units", help="comma-separated units to run (default: every one), e.g. codec")
    ap.add_argument("--write", help="update this Markdown file between its results markers")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat the measurement; show the median time and the ratios' range")
    ap.add_argument("--repetitions", type=int, default=1,
                    help="measure each C++ case this many times, interleaved; use the median")
    ap.add_argument("--alternate", type=int, default=1,
                    help="measure each program and its CPython twin this many times, in "
                    "alternation; use each case's median")
    ap.add_argument("--chart", help="write a PNG chart of the results here (default with --write: "
                    "bench/results.png)")
    args = ap.parse_args()
    if args.chart is None and args.write:
        args.chart = os.path.join(HERE, "results.png")

    # Run elsewhere: scaling_benchmark is not a Google Benchmark program (bench/scaling.py runs
    # it); mpi_benchmark runs under mpirun beside mpi4py.futures (docs/mpi.md).
    units = sorted(f[: -len("_benchmark.cpp")] for f in os.listdir(HERE)
                   if f.endswith("_benchmark.cpp")
                   and f not in ("scaling_benchmark.cpp", "mpi_benchmark.cpp"))
    if args.units:
        units = [u for u in units if u in args.units.split(",")]
    runs = []
    for _ in range(max(1, args.runs)):
        groups = {}
        for unit in units:
            binary = os.path.join(args.build, "bench", f"{unit}_benchmark")
            rounds = []
            for _ in range(max(1, args.alternate)):
                results = run_cpp(binary, args.min_time, args.filter, args.repetitions)
                if os.path.exists(os.path.join(HERE, f"{unit}_bench.py")):
                    results.update(run_python(unit, args.min_time, args.filter))
                rounds.append(results)
            for name in rounds[0]:
                measured = sorted((r[name] for r in rounds if name in r),
                                  key=lambda r: r["seconds"])
                group, _, variant = name.rpartition("/")
                groups.setdefault(group, {})[variant] = measured[len(measured) // 2]
        runs.append(groups)
    groups = median_groups(runs)

    stamp = f"Machine: {machine()}. {datetime.date.today()}."
    if len(runs) > 1:
        stamp += f" {len(runs)} runs: median time, lowest and highest ratio."
    lines = [stamp, "",
             "| case | variant | time per op | mp / variant |", "|---|---|---|---|"]
    for group, variants in groups.items():
        mine = variants.get("mp")
        for variant, r in sorted(variants.items(), key=lambda kv: kv[0] != "mp"):
            ratios = [] if variant == "mp" or not mine else [
                g[group]["mp"]["seconds"] / g[group][variant]["seconds"] for g in runs
                if "mp" in g.get(group, {}) and variant in g.get(group, {})]
            ratio = "" if not ratios else (
                f"{ratios[0]:.3f}" if len(ratios) == 1 else
                f"{min(ratios):.3f}–{max(ratios):.3f}")
            time = fmt_time(r["seconds"])
            if "cpu_per_op" in r:
                time += f" (CPU {fmt_time(r['cpu_per_op'])})"
            peaks = [f"{k[:-len('_peak_x')]} {v:.2f}×" for k, v in sorted(r.items())
                     if k.endswith("_peak_x")]
            if peaks:
                time += " (peak memory over the message size: " + ", ".join(peaks) + ")"
            lines.append(f"| {group} | {variant} | {time} | {ratio} |")
    table = "\n".join(lines)
    print(table)

    if args.write:
        text = open(args.write).read() if os.path.exists(args.write) else f"{BEGIN}\n{END}\n"
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        cmd = "bench/run.py " + " ".join(sys.argv[1:])
        with open(args.write, "w") as f:
            f.write(f"{head}{BEGIN}\nProduced by `{cmd}`.\n\n{table}\n{END}{tail}")
    if args.chart and groups:
        write_chart(groups, f"mp, CPython and raw baselines: time per operation. {stamp}",
                    args.chart)


if __name__ == "__main__":
    main()
