"""CPython twin of sync_benchmark.cpp."""
import multiprocessing as mp

from twin import per_op

BATCH = 20_000
PINGS = 500


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


def event_wait_timeout_0_unset(min_time):
    ev = mp.Event()

    def batch():
        for _ in range(1000):
            ev.wait(0)
    return per_op(batch, 1000, min_time)


def setup():
    mp.set_start_method("fork", force=True)


CASES = {
    "lock_acquire_release/cpython": lock_acquire_release,
    "locked_increment_2proc/cpython": locked_increment_2proc,
    "event_wakeup_one_way/cpython": event_wakeup_one_way,
    "condition_wakeup_one_way/cpython": condition_wakeup_one_way,
    "event_wait_timeout_0_unset/cpython": event_wait_timeout_0_unset,
}
