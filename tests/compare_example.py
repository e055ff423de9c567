#!/usr/bin/env python3
"""Runs a C++ example and the Python program it reproduces, and compares what they print.

Modes:
  exact      the same lines in the same order
  unordered  the same lines in any order (processes racing to print)
  repeated   the same sequence once runs of a repeated line are collapsed, each run's length
             within one of Python's (timing loops such as 'print; sleep(1)' against a 3 s timer)
  daemon     as 'repeated', and once the program has exited nothing more is printed: its
             daemonic child is gone (stdout reaches EOF at once). One daemon line landing just
             after the parent's last line, before the exit handler's SIGTERM, is tolerated.
  racy       as 'exact', for a Python program that races where the C++ one does not (seed 6's
             unlocked `+=` loses an update now and then on a busy machine): Python is run again,
             up to RACY_RUNS times in all, until one output has come twice, which the C++ program
             must print (a race striking twice in a row is far rarer than once).
Both programs run with a hard timeout; a program that outlives it is killed, with every process
it started (each program runs in a session of its own), and the test fails.
"""
import argparse
import itertools
import os
import select
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 30
RACY_RUNS = 5


def run(argv):
    """Runs argv with stdout on a pseudo-terminal, as a person would see it: Python then
    line-buffers its output, so lines from racing processes never interleave mid-line."""
    master, slave = os.openpty()
    start = time.monotonic()
    # An inherited PYTHONUNBUFFERED would make print() write the text and its newline apart.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    # A session (and so a process group) of its own: on timeout the whole group is killed, so
    # that no child of a hung program lingers after the test.
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                            env=env, start_new_session=True)
    os.close(slave)
    out = b""
    # Read to EOF, i.e. until every process holding the terminal is gone.
    while True:
        left = TIMEOUT - (time.monotonic() - start)
        ready, _, _ = select.select([master], [], [], max(left, 0))
        if not ready:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # the leader has exited; its group may be empty
                pass
            proc.kill()
            proc.wait()
            sys.exit(f"FAIL: {argv[0]} (or a child of it) still holds stdout after {TIMEOUT} s\n"
                     f"{out.decode(errors='replace')}")
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the last holder closed it
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    err = proc.stderr.read()
    code = proc.wait(timeout=max(TIMEOUT - (time.monotonic() - start), 1))
    text = out.decode(errors="replace").replace("\r\n", "\n")
    return code, text, err.decode(errors="replace"), time.monotonic() - start


def trim_daemon_tick(lines):
    """Drops a final daemon line printed right after the parent's last line."""
    if len(lines) >= 3 and lines[-1] == lines[0] and lines[-2] != lines[0]:
        return lines[:-1]
    return lines


def runs(lines):
    return [(line, len(list(group))) for line, group in itertools.groupby(lines)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["exact", "unordered", "repeated", "daemon", "racy"],
                    default="exact")
    ap.add_argument("cpp")
    ap.add_argument("python")
    args = ap.parse_args()

    # Both at once: the programs mostly sleep (the seeds' time.sleep calls), so the test takes
    # the longer one's time instead of the sum.
    with ThreadPoolExecutor(2) as pool:
        cpp = pool.submit(run, [args.cpp])
        python = pool.submit(run, [sys.executable, args.python])
        code_c, out_c, err_c, _ = cpp.result()
        code_p, out_p, err_p, _ = python.result()
    print(f"--- C++ ({args.cpp}), exit {code_c}\n{out_c}{err_c}")
    print(f"--- Python ({args.python}), exit {code_p}\n{out_p}{err_p}")
    lines_c, lines_p = out_c.splitlines(), out_p.splitlines()

    ok = code_c == code_p
    if args.mode == "racy":
        seen = [(code_p, lines_p)]
        while len(seen) < RACY_RUNS and len(set(map(repr, seen))) == len(seen):
            code_p, out_p, err_p, _ = run([sys.executable, args.python])
            print(f"--- Python again, exit {code_p}\n{out_p}{err_p}")
            seen.append((code_p, out_p.splitlines()))
        twice = [s for s in seen if seen.count(s) >= 2]
        ok = bool(twice) and (code_c, lines_c) == twice[0]
    elif args.mode == "exact":
        ok = ok and lines_c == lines_p
    elif args.mode == "unordered":
        ok = ok and sorted(lines_c) == sorted(lines_p)
    else:
        if args.mode == "daemon":
            # The daemon may tick once between the parent's last line and its termination by
            # the exit handler (Python's may too): such a tick is not output after the exit.
            lines_c, lines_p = trim_daemon_tick(lines_c), trim_daemon_tick(lines_p)
        rc, rp = runs(lines_c), runs(lines_p)
        ok = ok and [l for l, _ in rc] == [l for l, _ in rp]
        ok = ok and all(abs(a - b) <= 1 for (_, a), (_, b) in zip(rc, rp))
    if args.mode == "daemon":
        # The program's stdout reached EOF in run(): no child kept it open after exit.
        ok = ok and bool(lines_c) and lines_c[-1] == lines_p[-1]
    print("PASS" if ok else "FAIL: outputs differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
