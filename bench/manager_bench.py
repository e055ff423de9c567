"""CPython twin of manager_benchmark.cpp: calls through multiprocessing.Manager proxies.

Client processes are started once per case and run a batch on command, as in the C++ cases, so
process start-up is not measured. manager_clients_N has two CPython variants, since CPython has
no atomic d[k] += 1 through a proxy: 'cpython_locked' holds a manager Lock around d[k] += 1
(exact, four round trips per increment), 'cpython_racy' does d[k] = d[k] + 1 (two round trips,
loses updates when clients overlap).
"""
import multiprocessing as mp

from twin import per_op

BATCH = 1000


def _dict_from_child(d, conn, min_time):
    def batch():
        for i in range(BATCH):
            d["k"] = i
            d["k"]
    conn.send(per_op(batch, BATCH, min_time))


def manager_dict(min_time):
    """One set and one get, timed by the child that makes them."""
    with mp.Manager() as manager:
        d = manager.dict()
        mine, theirs = mp.Pipe()
        p = mp.Process(target=_dict_from_child, args=(d, theirs, min_time), daemon=True)
        p.start()
        seconds = mine.recv()
        p.join()
        return seconds


def manager_queue(min_time):
    with mp.Manager() as manager:
        q = manager.Queue()

        def batch():
            for i in range(BATCH):
                q.put(i)
                q.get()
        return per_op(batch, BATCH, min_time)


def manager_queue_timeout(min_time):
    with mp.Manager() as manager:
        q = manager.Queue()

        def batch():
            for i in range(BATCH):
                q.put(i, timeout=10)
                q.get(timeout=10)
        return per_op(batch, BATCH, min_time)


def _increment_on_command(d, lock, conn):
    while (n := conn.recv()) > 0:
        if lock is None:
            for _ in range(n):
                d["k"] = d["k"] + 1
        else:
            for _ in range(n):
                with lock:
                    d["k"] += 1
        conn.send(True)


def manager_clients(clients, locked, min_time):
    """Time per increment over all clients together."""
    with mp.Manager() as manager:
        d = manager.dict(k=0)
        lock = manager.Lock() if locked else None
        conns, procs = [], []
        for _ in range(clients):
            mine, theirs = mp.Pipe()
            p = mp.Process(target=_increment_on_command, args=(d, lock, theirs), daemon=True)
            p.start()
            conns.append(mine)
            procs.append(p)

        def batch():
            for c in conns:
                c.send(BATCH)
            for c in conns:
                c.recv()
        seconds = per_op(batch, clients * BATCH, min_time)
        for c in conns:
            c.send(0)
        for p in procs:
            p.join()
        return seconds


def setup():
    mp.set_start_method("fork", force=True)


CASES = {
    "manager_dict/cpython": manager_dict,
    "manager_queue/cpython": manager_queue,
    "manager_queue_timeout/cpython": manager_queue_timeout,
    **{f"manager_clients_{n}/cpython_{kind}": (lambda t, n=n, kind=kind:
                                               manager_clients(n, kind == "locked", t))
       for n in (1, 4) for kind in ("locked", "racy")},
}
