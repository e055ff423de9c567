#!/usr/bin/env python3
"""How mp and CPython's multiprocessing scale with the number of workers, in one table.

For 1, 2, 4, ... workers up to the number of CPUs (and that number itself), runs each case with
mp (<build>/bench/scaling_benchmark, one process per case) and then with CPython (here, each
with a fresh pool), so the two are measured side by side:

  trivial  Pool(n).map of x*x at chunksize 1: tasks per second (what each task costs the pool).
  cpu      Pool(n).map at chunksize 1 of a task burning 1 ms of its worker's CPU time: tasks per
           second and the speed-up over one worker (ideal: min(n, CPUs)).
  fan_in   n producer processes put small ints on one Queue, one consumer gets them: messages
           per second. Also run at 8 producers (8 -> 1) whatever the CPU count.

Each figure is the best of a few repeats (the least disturbed on a shared machine); starting
processes and pools is not timed. The last column is mp's rate over CPython's: above 1, mp is
faster.

  bench/scaling.py --build build/default [--max-workers N] [--quick]
"""
import argparse
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

from run import machine

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 120  # seconds any one wait may take; a case that hits it fails the run
FAN_IN = 8   # the 8 -> 1 fan-in, run whatever the CPU count

# Work per case and implementation, about 0.1 - 1 s a repeat on a 2-CPU machine. CPython gets
# fewer trivial tasks and messages, at its rates mp's counts would take minutes; the figures are
# rates, so they compare all the same.
TASKS = {
    "trivial": {"mp": 100_000, "cpython": 20_000},
    "cpu": {"mp": 1_000, "cpython": 1_000},
    "fan_in": {"mp": 2_000_000, "cpython": 40_000},
}
UNITS = {"trivial": "tasks/s", "cpu": "tasks/s", "fan_in": "msgs/s"}


def square(x):
    return x * x


def burn_1ms(x):
    """Burns 1 ms of this thread's CPU time, however often the worker is preempted."""
    end = time.thread_time() + 0.001
    while time.thread_time() < end:
        pass
    return x


def pool_map_rate(ctx, fn, workers, tasks, repeats):
    with ctx.Pool(workers) as pool:  # terminate() on leaving
        pool.map_async(square, [1] * (4 * workers), chunksize=1).get(LIMIT)  # all workers up
        xs = list(range(tasks))
        best = 0.0
        for _ in range(repeats):
            start = time.perf_counter()
            out = pool.map_async(fn, xs, chunksize=1).get(LIMIT)
            best = max(best, tasks / (time.perf_counter() - start))
            assert len(out) == tasks
        return best


def _produce(q, ready, go, n):
    ready.release()
    if not go.wait(LIMIT):
        sys.exit(1)
    for i in range(n):
        q.put(i)


def fan_in_rate(ctx, producers, tasks, repeats):
    best = 0.0
    per = tasks // producers
    for _ in range(repeats):
        q, ready, go = ctx.Queue(), ctx.Semaphore(0), ctx.Event()
        procs = [ctx.Process(target=_produce, args=(q, ready, go, per), daemon=True)
                 for _ in range(producers)]
        for p in procs:
            p.start()
        try:
            for _ in procs:
                if not ready.acquire(timeout=LIMIT):
                    raise RuntimeError("a producer did not start")
            start = time.perf_counter()
            go.set()
            total = sum(q.get(timeout=LIMIT) for _ in range(per * producers))
            best = max(best, per * producers / (time.perf_counter() - start))
            assert total == producers * per * (per - 1) // 2
        finally:
            for p in procs:
                p.join(10)
                if p.is_alive():
                    p.kill()
                    p.join(10)
    return best


def run_cpython(case, workers, tasks, repeats):
    ctx = mp.get_context("fork")  # mp's default start method too
    if case == "fan_in":
        return fan_in_rate(ctx, workers, tasks, repeats)
    return pool_map_rate(ctx, square if case == "trivial" else burn_1ms, workers, tasks, repeats)


def run_mp(binary, case, workers, tasks, repeats):
    cmd = [binary, "--case", case, "--workers", str(workers), "--tasks", str(tasks),
           "--repeats", str(repeats)]
    # Its own process group, so that a run past the limit is killed with all its children.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=4 * LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"{' '.join(cmd)}: no result in {4 * LIMIT} s")
    if proc.returncode != 0 or not out.startswith("rate "):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.strip()}")
    return float(out.split()[1])


def worker_counts(limit):
    counts, n = [], 1
    while n < limit:
        counts.append(n)
        n *= 2
    return counts + [limit]


def fmt_rate(r):
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if r >= scale:
            return f"{r / scale:.3g} {unit}"
    return f"{r:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build", "default"))
    ap.add_argument("--max-workers", type=int, default=os.cpu_count())
    ap.add_argument("--quick", action="store_true", help="a quarter of the work, one repeat")
    args = ap.parse_args()
    binary = os.path.join(args.build, "bench", "scaling_benchmark")
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} not found: build the scaling_benchmark target first")
    repeats, share = (1, 4) if args.quick else (3, 1)

    counts = worker_counts(max(1, args.max_workers))
    rows = []
    for case in ("trivial", "cpu", "fan_in"):
        ns = sorted(set(counts + [FAN_IN])) if case == "fan_in" else counts
        base = {}
        for n in ns:
            # The cpu case keeps every worker busy for a while at any count.
            scale = max(1, n // 10) if case == "cpu" else 1
            tasks = {impl: max(n, t * scale // share) for impl, t in TASKS[case].items()}
            rate = {"mp": run_mp(binary, case, n, tasks["mp"], repeats),
                    "cpython": run_cpython(case, n, tasks["cpython"], repeats)}
            cells = {}
            for impl, r in rate.items():
                cells[impl] = f"{fmt_rate(r)} {UNITS[case]}"
                if case == "cpu":
                    base.setdefault(impl, r)
                    cells[impl] += f" ({r / base[impl]:.2f}×)"
            label = f"{case} ({n} → 1)" if case == "fan_in" else case
            rows.append(f"| {label} | {n} | {cells['mp']} | {cells['cpython']} | "
                        f"{rate['mp'] / rate['cpython']:.2f} |")
            print(rows[-1], file=sys.stderr, flush=True)  # progress; the table follows

    print(f"Machine: {machine()}. Best of {repeats} repeat(s)"
          f"{', --quick' if args.quick else ''}.\n")
    print("| case | workers | mp | CPython | mp / CPython (rate) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
