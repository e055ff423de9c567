"""CPython twin of channels_benchmark.cpp."""
import multiprocessing as mp

from twin import per_op

SMALL = 20_000
K64 = 500
PINGS = 2_000


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


def setup():
    mp.set_start_method("fork", force=True)


CASES = {
    "queue_small_ints/cpython": lambda t: through_queue(1, SMALL, t),
    "queue_64k_messages/cpython": lambda t: through_queue(b"x" * (64 << 10), K64, t),
    "queue_100mb_message/cpython": lambda t: through_queue(b"x" * 100_000_000, 1, t),
    "pipe_roundtrip/cpython": pipe_roundtrip,
}
