"""CPython twin of channels_benchmark.cpp."""
import multiprocessing as mp
import time

SMALL = 20_000
K64 = 500
PINGS = 2_000


def per_op(fn, ops, min_time):
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 2:
            return elapsed / (n * ops)


def _put_many(q, item, n):
    for _ in range(n):
        q.put(item)


def through_queue(item, n, min_time):
    q = mp.Queue()

    def batch():
        p = mp.Process(target=_put_many, args=(q, item, n))
        p.start()
        for _ in range(n):
            q.get()
        p.join()
    return per_op(batch, n, min_time)


def _echo(conn, n):
    for _ in range(n):
        conn.send(conn.recv())


def pipe_roundtrip(min_time):
    a, b = mp.Pipe()

    def batch():
        p = mp.Process(target=_echo, args=(b, PINGS))
        p.start()
        for i in range(PINGS):
            a.send(i)
            a.recv()
        p.join()
    return per_op(batch, PINGS, min_time)


def run(min_time):
    mp.set_start_method("fork", force=True)
    return {
        "queue_small_ints/cpython": through_queue(1, SMALL, min_time),
        "queue_64k_messages/cpython": through_queue(b"x" * (64 << 10), K64, min_time),
        "queue_100mb_message/cpython": through_queue(b"x" * 100_000_000, 1, min_time),
        "pipe_roundtrip/cpython": pipe_roundtrip(min_time),
    }
