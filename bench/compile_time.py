#!/usr/bin/env python3
"""Compile time of each public header alone and of one-file programs (issue 13).

For each public header include/mp/*.hpp, compiles a file holding only `#include <mp/NAME>` with
`CXX -std=c++20 -O2 -I include -c` and prints the wall time, the minimum of --runs runs (the
machine may be shared: the minimum is the least disturbed run). Then the same for whole example
programs. Run from the repository root:

    python3 bench/compile_time.py [--cxx g++] [--runs 3] [--headers mp.hpp process.hpp]

To compare with an older commit, --baseline measures its headers in the same minute, each run
beside the current one (load on a shared machine changes from one minute to the next):

    mkdir /tmp/old && git archive OLD include | tar -x -C /tmp/old
    python3 bench/compile_time.py --baseline /tmp/old/include
"""
import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROGRAMS = ["examples/seed_01_process.cpp", "examples/seed_12_pool_map.cpp",
            "examples/seed_20_executor.cpp"]


def one_time(cxx, source, include, out):
    cmd = [cxx, "-std=c++20", "-O2", "-I", str(include), "-c", str(source), "-o", out]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"compile failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def best_times(cxx, source, includes, runs, out):
    """The minimum over `runs` of each include directory's time, runs interleaved."""
    best = [float("inf")] * len(includes)
    for _ in range(runs):
        for i, include in enumerate(includes):
            best[i] = min(best[i], one_time(cxx, source, include, out))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--headers", nargs="*", help="names under include/mp (default: all)")
    parser.add_argument("--no-programs", action="store_true")
    parser.add_argument("--baseline", help="an older include directory to measure beside")
    args = parser.parse_args()

    includes = [ROOT / "include"]
    columns = ["seconds"]
    if args.baseline:
        includes.insert(0, pathlib.Path(args.baseline))
        columns = ["before", "after"]
    names = args.headers or sorted(p.name for p in (ROOT / "include/mp").glob("*.hpp"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "x.o")
        empty = pathlib.Path(tmp, "empty.cpp")
        empty.write_text("")
        rows.append(("(empty file)", best_times(args.cxx, empty, includes, args.runs, out)))
        for name in names:
            src = pathlib.Path(tmp, f"only_{name}.cpp")
            src.write_text(f"#include <mp/{name}>\n")
            rows.append((f"mp/{name}", best_times(args.cxx, src, includes, args.runs, out)))
        if not args.no_programs:
            for prog in PROGRAMS:
                rows.append((prog, best_times(args.cxx, ROOT / prog, includes, args.runs, out)))
    print(f"| translation unit ({args.cxx} -std=c++20 -O2 -c, min of {args.runs}) | "
          + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name, secs in rows:
        print(f"| {name} | " + " | ".join(f"{s:.2f}" for s in secs) + " |")


if __name__ == "__main__":
    main()
