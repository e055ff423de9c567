// bench/pool_benchmark.cpp — Pool and ProcessPoolExecutor with two workers; twin: pool_bench.py.
// Time per item (map) or per call (apply, submit); `ops` counts them per iteration. The
// round-trip groups have a raw baseline: one small message to a child and back over a
// socketpair, both sides blocking in read(): a round trip through the kernel with nothing else.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numeric>
#include <vector>

#include "mp/context.hpp"
#include "mp/executor.hpp"
#include "mp/pool.hpp"

namespace {

constexpr int kWorkers = 2;
constexpr int kItems = 10'000;
constexpr int kItemsChunksize1 = 100'000;
constexpr int kCalls = 200;

int square(int n) {
  return n * n;
}

std::vector<int> items(int n) {
  std::vector<int> xs(n);
  std::iota(xs.begin(), xs.end(), 0);
  return xs;
}

void pool_map_small(benchmark::State& state) {
  mp::Pool pool(kWorkers);
  const auto xs = items(kItems);
  for (auto _ : state) benchmark::DoNotOptimize(pool.map(square, xs));
  state.counters["ops"] = kItems;
}

// Pool(2).map(f, xs) at the default chunk size over N longs: the cost per item
// should not depend on how many there are.
long twice(long n) {
  return 2 * n;
}

template <std::size_t N>
void pool_map_longs(benchmark::State& state) {
  mp::Pool pool(kWorkers);
  std::vector<long> xs(N);
  std::iota(xs.begin(), xs.end(), 0L);
  for (auto _ : state) benchmark::DoNotOptimize(pool.map(twice, xs));
  state.counters["ops"] = static_cast<double>(xs.size());
}

// One task per item: what each task costs the pool, with the pipeline kept full.
void pool_map_chunksize1(benchmark::State& state) {
  mp::Pool pool(kWorkers);
  const auto xs = items(kItemsChunksize1);
  for (auto _ : state) benchmark::DoNotOptimize(pool.map(square, xs, 1));
  state.counters["ops"] = kItemsChunksize1;
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

void executor_submit_roundtrip(benchmark::State& state) {
  mp::ProcessPoolExecutor ex(kWorkers);
  for (auto _ : state) {
    for (int i = 0; i < kCalls; ++i) benchmark::DoNotOptimize(ex.submit(square, i).result());
  }
  state.counters["ops"] = kCalls;
}

// The raw baseline of a round trip: the parent writes a long to a forked child, which squares
// it and writes it back. Both block in read(), as a pool's idle worker and waiting caller may.
// Every read gives up after 10 s (SO_RCVTIMEO), so a lost peer cannot hang the benchmark.
void raw_pipe_roundtrip(benchmark::State& state) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  const timeval limit{.tv_sec = 10, .tv_usec = 0};
  for (int fd : fds) ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(fds[0]);
    long v;
    // Ends at EOF (the parent closed its end), on an error or after 10 s without a message.
    while (::read(fds[1], &v, sizeof v) == sizeof v) {
      v *= v;
      if (::write(fds[1], &v, sizeof v) != sizeof v) break;
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  bool ok = pid > 0;
  for (auto _ : state) {
    for (long i = 0; ok && i < kCalls; ++i) {
      long v = i;
      ok = ::write(fds[0], &v, sizeof v) == sizeof v && ::read(fds[0], &v, sizeof v) == sizeof v;
      benchmark::DoNotOptimize(v);
    }
    if (!ok) {
      state.SkipWithError("the peer stopped answering");
      break;
    }
  }
  state.counters["ops"] = kCalls;
  ::close(fds[0]);  // the child sees EOF and exits
  if (pid > 0) {
    if (!ok) ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

}  // namespace

BENCHMARK(pool_map_small)->Name("pool_map_small/mp")->UseRealTime();
BENCHMARK(pool_map_longs<1'000>)->Name("pool_map_longs_1k/mp")->UseRealTime();
BENCHMARK(pool_map_longs<100'000>)->Name("pool_map_longs_100k/mp")->UseRealTime();
BENCHMARK(pool_map_longs<1'000'000>)->Name("pool_map_longs_1m/mp")->UseRealTime();
BENCHMARK(pool_map_longs<10'000'000>)->Name("pool_map_longs_10m/mp")->UseRealTime();
BENCHMARK(pool_map_chunksize1)->Name("pool_map_chunksize1/mp")->UseRealTime();
BENCHMARK(pool_apply_roundtrip)->Name("pool_apply_roundtrip/mp")->UseRealTime();
BENCHMARK(raw_pipe_roundtrip)->Name("pool_apply_roundtrip/raw_pipe")->UseRealTime();
BENCHMARK(pool_start_terminate<mp::StartMethod::fork>)
    ->Name("pool_start_terminate_fork/mp")
    ->UseRealTime();
BENCHMARK(pool_start_terminate<mp::StartMethod::forkserver>)
    ->Name("pool_start_terminate_forkserver/mp")
    ->UseRealTime();
BENCHMARK(pool_start_terminate<mp::StartMethod::spawn>)
    ->Name("pool_start_terminate_spawn/mp")
    ->UseRealTime();
BENCHMARK(executor_submit_roundtrip)->Name("executor_submit_roundtrip/mp")->UseRealTime();
BENCHMARK(raw_pipe_roundtrip)->Name("executor_submit_roundtrip/raw_pipe")->UseRealTime();
