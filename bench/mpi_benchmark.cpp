// bench/mpi_benchmark.cpp — mp::mpi::PoolExecutor against its twin bench/mpi_bench.py
// (mpi4py.futures.MPIPoolExecutor), the same cases at the same rank count:
//
//   mpirun -n 3 --oversubscribe build/default/bench/mpi_benchmark
//   mpirun -n 3 --oversubscribe /usr/bin/python3 -m mpi4py.futures bench/mpi_bench.py
//
// Cases: map of a trivial function over many items at chunksize 1 (tasks/s), the same with
// submit() per item, and the round trip of one submit()->result() at a time (µs, median of a
// run). Prints one line per case: name, value, unit.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "mp/mpi.hpp"

namespace {
using Clock = std::chrono::steady_clock;

int square(int x) {
  return x * x;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

int main(int argc, char** argv) {
  mp::mpi::init(argc, argv);
  const int n = argc > 1 ? std::atoi(argv[1]) : 200000;
  const int trips = argc > 2 ? std::atoi(argv[2]) : 5000;
  const std::size_t window = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 0;
  mp::mpi::PoolExecutor ex(mp::mpi::Options{.tasks_per_rank = window});
  std::vector<int> xs(static_cast<std::size_t>(n));
  std::iota(xs.begin(), xs.end(), 0);

  for (int r = 0; r < 1000; ++r) ex.submit(square, r).result();  // warm up every rank

  auto t = Clock::now();
  long sum = 0;
  for (int v : ex.map(square, xs, 1)) sum += v;
  std::printf("map_chunksize_1 %.0f tasks/s\n", n / seconds_since(t));

  t = Clock::now();
  std::vector<mp::Future<int>> fs;
  fs.reserve(xs.size());
  for (int x : xs) fs.push_back(ex.submit(square, x));
  for (auto& f : fs) sum += f.result();
  std::printf("submit_each %.0f tasks/s\n", n / seconds_since(t));

  std::vector<double> us;
  for (int i = 0; i < trips; ++i) {
    const auto s = Clock::now();
    sum += ex.submit(square, i).result();
    us.push_back(seconds_since(s) * 1e6);
  }
  std::sort(us.begin(), us.end());
  std::printf("round_trip_median %.1f us\n", us[us.size() / 2]);
  std::printf("round_trip_mean %.1f us\n", std::accumulate(us.begin(), us.end(), 0.0) / trips);
  std::printf("ranks %d (serving %zu), checksum %ld\n", mp::mpi::size(), mp::mpi::workers(), sum);
}
