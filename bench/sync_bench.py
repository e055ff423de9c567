"""CPython twin of sync_benchmark.cpp."""
import multiprocessing as mp
import time

BATCH = 20_000
PINGS = 500


def per_op(fn, ops, min_time):
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 2:
            return elapsed / (n * ops)


def lock_acquire_release(min_time):
    lock = mp.Lock()

    def batch():
        for _ in range(10_000):
            lock.acquire()
            lock.release()
    return per_op(batch, 10_000, min_time)


def _increment(v, n):
    for _ in range(n):
        with v.get_lock():
            v.value += 1


def locked_increment_2proc(min_time):
    v = mp.Value("l", 0)

    def batch():
        p = mp.Process(target=_increment, args=(v, BATCH))
        p.start()
        _increment(v, BATCH)
        p.join()
    return per_op(batch, 2 * BATCH, min_time)


def _pong(ping, pong, n):
    for _ in range(n):
        ping.wait()
        ping.clear()
        pong.set()


def event_wakeup_one_way(min_time):
    ping, pong = mp.Event(), mp.Event()

    def batch():
        p = mp.Process(target=_pong, args=(ping, pong, PINGS))
        p.start()
        for _ in range(PINGS):
            ping.set()
            pong.wait()
            pong.clear()
        p.join()
    return per_op(batch, 2 * PINGS, min_time)


def _cond_peer(cond, turn, n):
    for _ in range(n):
        with cond:
            cond.wait_for(lambda: turn.value == 1)
            turn.value = 0
            cond.notify()


def condition_wakeup_one_way(min_time):
    cond, turn = mp.Condition(), mp.RawValue("i", 0)

    def batch():
        p = mp.Process(target=_cond_peer, args=(cond, turn, PINGS))
        p.start()
        for _ in range(PINGS):
            with cond:
                turn.value = 1
                cond.notify()
                cond.wait_for(lambda: turn.value == 0)
        p.join()
    return per_op(batch, 2 * PINGS, min_time)


def run(min_time):
    mp.set_start_method("fork", force=True)
    return {
        "lock_acquire_release/cpython": lock_acquire_release(min_time),
        "locked_increment_2proc/cpython": locked_increment_2proc(min_time),
        "event_wakeup_one_way/cpython": event_wakeup_one_way(min_time),
        "condition_wakeup_one_way/cpython": condition_wakeup_one_way(min_time),
    }
