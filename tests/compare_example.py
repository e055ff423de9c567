#!/usr/bin/env python3
"""Runs a C++ example and the Python program it reproduces, and compares what they print.

Modes:
  exact      the same lines in the same order
  unordered  the same lines in any order (processes racing to print)
  repeated   the same sequence once runs of a repeated line are collapsed, each run's length
             within one of Python's (timing loops such as 'print; sleep(1)' against a 3 s timer)
  daemon     as 'repeated', and once the program has exited nothing more is printed: its
             daemonic child is gone (stdout reaches EOF at once, with no further line)
Both programs run with a hard timeout; a program that outlives it is killed and the test fails.
"""
import argparse
import itertools
import os
import subprocess
import sys
import time

TIMEOUT = 30


def run(argv):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        # communicate() returns at EOF on stdout, i.e. once every process holding it is gone.
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        sys.exit(f"FAIL: {argv[0]} did not finish within {TIMEOUT} s\n{out.decode()}")
    return proc.returncode, out.decode(), err.decode(), time.monotonic() - start


def runs(lines):
    return [(line, len(list(group))) for line, group in itertools.groupby(lines)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["exact", "unordered", "repeated", "daemon"], default="exact")
    ap.add_argument("cpp")
    ap.add_argument("python")
    args = ap.parse_args()

    code_c, out_c, err_c, _ = run([args.cpp])
    code_p, out_p, err_p, _ = run([sys.executable, args.python])
    print(f"--- C++ ({args.cpp}), exit {code_c}\n{out_c}{err_c}")
    print(f"--- Python ({args.python}), exit {code_p}\n{out_p}{err_p}")
    lines_c, lines_p = out_c.splitlines(), out_p.splitlines()

    ok = code_c == code_p
    if args.mode == "exact":
        ok = ok and lines_c == lines_p
    elif args.mode == "unordered":
        ok = ok and sorted(lines_c) == sorted(lines_p)
    else:
        rc, rp = runs(lines_c), runs(lines_p)
        ok = ok and [l for l, _ in rc] == [l for l, _ in rp]
        ok = ok and all(abs(a - b) <= 1 for (_, a), (_, b) in zip(rc, rp))
    if args.mode == "daemon":
        # The program's stdout reached EOF in run(): no child kept it open after exit.
        ok = ok and lines_c and lines_c[-1] == lines_p[-1]
    print("PASS" if ok else "FAIL: outputs differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
