// bench/pool_benchmark.cpp — Pool and ProcessPoolExecutor with two workers; twin: pool_bench.py.
// Time per item (map) or per call (apply, submit); `ops` counts them per iteration.
#include <benchmark/benchmark.h>

#include <numeric>
#include <vector>

#include "mp/context.hpp"
#include "mp/executor.hpp"
#include "mp/pool.hpp"

namespace {

constexpr int kWorkers = 2;
constexpr int kItems = 10'000;
constexpr int kCalls = 200;

int square(int n) {
  return n * n;
}

std::vector<int> items() {
  std::vector<int> xs(kItems);
  std::iota(xs.begin(), xs.end(), 0);
  return xs;
}

void pool_map_small(benchmark::State& state) {
  mp::Pool pool(kWorkers);
  const auto xs = items();
  for (auto _ : state) benchmark::DoNotOptimize(pool.map(square, xs));
  state.counters["ops"] = kItems;
}

void pool_apply_roundtrip(benchmark::State& state) {
  mp::Pool pool(kWorkers);
  for (auto _ : state) {
    for (int i = 0; i < kCalls; ++i) benchmark::DoNotOptimize(pool.apply(square, i));
  }
  state.counters["ops"] = kCalls;
}

template <mp::StartMethod M>
void pool_start_terminate(benchmark::State& state) {
  for (auto _ : state) {
    mp::Pool pool(kWorkers, mp::PoolOptions{.context = mp::get_context(M)});
    pool.terminate();
  }
}

void executor_submit_result(benchmark::State& state) {
  mp::ProcessPoolExecutor ex(kWorkers);
  for (auto _ : state) {
    for (int i = 0; i < kCalls; ++i) benchmark::DoNotOptimize(ex.submit(square, i).result());
  }
  state.counters["ops"] = kCalls;
}

}  // namespace

BENCHMARK(pool_map_small)->Name("pool_map_small/mp")->UseRealTime();
BENCHMARK(pool_apply_roundtrip)->Name("pool_apply_roundtrip/mp")->UseRealTime();
BENCHMARK(pool_start_terminate<mp::StartMethod::fork>)
    ->Name("pool_start_terminate_fork/mp")
    ->UseRealTime();
BENCHMARK(pool_start_terminate<mp::StartMethod::forkserver>)
    ->Name("pool_start_terminate_forkserver/mp")
    ->UseRealTime();
BENCHMARK(pool_start_terminate<mp::StartMethod::spawn>)
    ->Name("pool_start_terminate_spawn/mp")
    ->UseRealTime();
BENCHMARK(executor_submit_result)->Name("executor_submit_result/mp")->UseRealTime();
