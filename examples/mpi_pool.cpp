// examples/mpi_pool.cpp — mp::mpi::PoolExecutor: rank 0 hands tasks to the other ranks.
//
//   mpirun -n 4 ./mpi_pool                      # one host: rank 0 and three serving ranks
//   mpirun --host a:2,b:2 -n 4 ./mpi_pool       # two hosts (the binary at the same path on both)
#include <cstdio>
#include <vector>

#include "mp/mpi.hpp"

namespace {
long collatz_steps(long n) {
  long steps = 0;
  for (; n != 1; ++steps) n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}
}  // namespace

int main(int argc, char** argv) {
  mp::mpi::init(argc, argv);  // the serving ranks stay in here and exit when rank 0 is done

  mp::mpi::PoolExecutor ex;
  std::printf("%zu ranks serve\n", mp::mpi::workers());

  mp::Future<long> f = ex.submit(collatz_steps, 27L);
  std::printf("collatz_steps(27) = %ld\n", f.result());

  std::vector<long> xs;
  for (long n = 1; n <= 100000; ++n) xs.push_back(n);
  long best = 0, best_n = 0, n = 1;
  for (long steps : ex.map(collatz_steps, xs, 1000)) {
    if (steps > best) best = steps, best_n = n;
    ++n;
  }
  std::printf("longest below 100000: %ld (%ld steps)\n", best_n, best);
}
