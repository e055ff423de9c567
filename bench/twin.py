"""What the CPython twins share: timing a batch until a minimum time has passed."""
import time


def per_op(batch, ops, min_time):
    """Seconds per operation of `batch`, which performs `ops` operations per call."""
    n, start = 0, time.perf_counter()
    while True:
        batch()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 2:
            return elapsed / (n * ops)
