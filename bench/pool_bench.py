"""CPython twin of pool_benchmark.cpp: Pool and ProcessPoolExecutor with two workers."""
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

from twin import per_op

WORKERS = 2
ITEMS = 10_000
ITEMS_CHUNKSIZE1 = 100_000
CALLS = 200


def square(n):
    return n * n


def pool_map_small(min_time):
    with mp.Pool(WORKERS) as pool:
        xs = list(range(ITEMS))
        return per_op(lambda: pool.map(square, xs), ITEMS, min_time)


def pool_map_longs(n, min_time):
    with mp.Pool(WORKERS) as pool:
        xs = list(range(n))
        return per_op(lambda: pool.map(twice, xs), n, min_time)


def twice(n):
    return 2 * n


def pool_map_chunksize1(min_time):
    with mp.Pool(WORKERS) as pool:
        xs = list(range(ITEMS_CHUNKSIZE1))
        def batch():  # bounded: a stuck pool fails the case instead of hanging the run
            pool.map_async(square, xs, chunksize=1).get(timeout=600)
        return per_op(batch, ITEMS_CHUNKSIZE1, min_time)


def pool_apply_roundtrip(min_time):
    with mp.Pool(WORKERS) as pool:
        def batch():
            for i in range(CALLS):
                pool.apply(square, (i,))
        return per_op(batch, CALLS, min_time)


def pool_start_terminate(method, min_time):
    ctx = mp.get_context(method)
    def batch():
        pool = ctx.Pool(WORKERS)
        pool.terminate()
        pool.join()
    return per_op(batch, 1, min_time)


def executor_submit_roundtrip(min_time):
    with ProcessPoolExecutor(WORKERS) as ex:
        def batch():
            for i in range(CALLS):
                ex.submit(square, i).result()
        return per_op(batch, CALLS, min_time)


def setup():
    mp.set_start_method("fork", force=True)


CASES = {
    "pool_map_small/cpython": pool_map_small,
    **{f"pool_map_longs_{name}/cpython": (lambda t, n=n: pool_map_longs(n, t))
       for name, n in (("1k", 1_000), ("100k", 100_000), ("1m", 1_000_000))},
    "pool_map_chunksize1/cpython": pool_map_chunksize1,
    "pool_apply_roundtrip/cpython": pool_apply_roundtrip,
    **{f"pool_start_terminate_{m}/cpython": (lambda t, m=m: pool_start_terminate(m, t))
       for m in ("fork", "forkserver", "spawn")},
    "executor_submit_roundtrip/cpython": executor_submit_roundtrip,
}
