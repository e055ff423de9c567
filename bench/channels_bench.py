"""CPython twin of channels_benchmark.cpp."""
import multiprocessing as mp
import time

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


FRESH_ROUNDS = 3
BIG_DOUBLES = 12_500_000  # 100 MB, as the C++ case's std::vector<double>


def _send_big(channel, put_at, is_pipe):
    import array
    v = array.array("d", range(BIG_DOUBLES))
    put_at.value = time.monotonic()
    if is_pipe:
        channel.send(v)
    else:
        channel.put(v)


def _recv_big(channel, got_at, is_pipe):
    v = channel.recv() if is_pipe else channel.get()
    got_at.value = time.monotonic()
    assert len(v) == BIG_DOUBLES


def one_big_message(is_pipe, min_time):
    """From the put's start to the get's end, in a fresh sender and receiver each round."""
    total = 0.0
    for _ in range(FRESH_ROUNDS):
        if is_pipe:
            rx_end, tx_end = mp.Pipe(False)
        else:
            rx_end = tx_end = mp.Queue()
        put_at, got_at = mp.Value("d", 0.0), mp.Value("d", 0.0)
        rx = mp.Process(target=_recv_big, args=(rx_end, got_at, is_pipe))
        tx = mp.Process(target=_send_big, args=(tx_end, put_at, is_pipe))
        rx.start()
        tx.start()
        tx.join()
        rx.join()
        total += got_at.value - put_at.value
    return total / FRESH_ROUNDS


def setup():
    mp.set_start_method("fork", force=True)


CASES = {
    "queue_small_ints/cpython": lambda t: through_queue(1, SMALL, t),
    "queue_64k_messages/cpython": lambda t: through_queue(b"x" * (64 << 10), K64, t),
    "queue_100mb_message/cpython": lambda t: through_queue(b"x" * 100_000_000, 1, t),
    "queue_100mb_fresh_processes/cpython": lambda t: one_big_message(False, t),
    "pipe_100mb_fresh_processes/cpython": lambda t: one_big_message(True, t),
    "pipe_roundtrip/cpython": pipe_roundtrip,
}
