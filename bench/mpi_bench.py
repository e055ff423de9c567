# bench/mpi_bench.py — the mpi4py.futures twin of bench/mpi_benchmark.cpp: same cases, same
# output. Run with the Debian interpreter that has python3-mpi4py:
#
#   mpirun -n 3 --oversubscribe /usr/bin/python3 -m mpi4py.futures bench/mpi_bench.py
import statistics
import sys
import time

from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor


def square(x):
    return x * x


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    trips = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with MPIPoolExecutor() as ex:
        for r in range(200):
            ex.submit(square, r).result()

        t = time.perf_counter()
        total = sum(ex.map(square, range(n), chunksize=1))
        print(f"map_chunksize_1 {n / (time.perf_counter() - t):.0f} tasks/s")

        t = time.perf_counter()
        fs = [ex.submit(square, x) for x in range(n)]
        total += sum(f.result() for f in fs)
        print(f"submit_each {n / (time.perf_counter() - t):.0f} tasks/s")

        us = []
        for i in range(trips):
            s = time.perf_counter()
            total += ex.submit(square, i).result()
            us.append((time.perf_counter() - s) * 1e6)
        print(f"round_trip_median {statistics.median(us):.1f} us")
        print(f"round_trip_mean {statistics.fmean(us):.1f} us")
        print(f"ranks {MPI.COMM_WORLD.Get_size()} (serving {ex._max_workers if hasattr(ex, '_max_workers') else '?'}), checksum {total}")


if __name__ == "__main__":
    main()
