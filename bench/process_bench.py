"""CPython twin of process_benchmark.cpp: start and join an empty process, per start method."""
import multiprocessing as mp
import time


def empty():
    pass


def measure(method, min_time):
    ctx = mp.get_context(method)
    ctx.Process(target=empty).start()  # warm up: forkserver starts its server here
    for p in mp.active_children():
        p.join()
    n, start = 0, time.perf_counter()
    while True:
        p = ctx.Process(target=empty)
        p.start()
        p.join()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 5:
            return elapsed / n


CASES = {f"process_start_join_{m}/cpython": (lambda t, m=m: measure(m, t))
         for m in ("fork", "forkserver", "spawn")}
