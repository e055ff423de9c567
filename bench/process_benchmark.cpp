// bench/process_benchmark.cpp — starting and joining a process, under each start method; twin:
// process_bench.py.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mp/context.hpp"
#include "mp/process.hpp"
#include "support/paired.hpp"

namespace {

// The floor: what the kernel charges for fork, exit and reaping.
void raw_fork_waitpid(benchmark::State& state) {
  for (auto _ : state) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

void empty() {}

template <mp::StartMethod M>
void mp_process_start_join(benchmark::State& state) {
  auto ctx = mp::get_context(M);
  for (auto _ : state) {
    mp::Process p = ctx.Process(empty);
    p.start();
    p.join();
  }
}

// Both rows of process_start_join_fork in alternation (support/paired.hpp), batches of 10.
void process_start_join_paired(benchmark::State& state) {
  constexpr int kBatch = 10;
  mp::bench::run_paired(
      state,
      [] {
        for (int i = 0; i < kBatch; ++i) {
          mp::Process p(empty);
          p.start();
          p.join();
        }
      },
      [] {
        for (int i = 0; i < kBatch; ++i) {
          pid_t pid = ::fork();
          if (pid == 0) ::_exit(0);
          int status = 0;
          ::waitpid(pid, &status, 0);
        }
      },
      kBatch);
}

}  // namespace

BENCHMARK(process_start_join_paired)
    ->Name("process_start_join_fork_paired/raw_fork_waitpid")
    ->UseManualTime();
BENCHMARK(raw_fork_waitpid)->Name("process_start_join_fork/raw_fork_waitpid")->UseRealTime();
BENCHMARK(mp_process_start_join<mp::StartMethod::fork>)
    ->Name("process_start_join_fork/mp")
    ->UseRealTime();
BENCHMARK(mp_process_start_join<mp::StartMethod::forkserver>)
    ->Name("process_start_join_forkserver/mp")
    ->UseRealTime();
BENCHMARK(mp_process_start_join<mp::StartMethod::spawn>)
    ->Name("process_start_join_spawn/mp")
    ->UseRealTime();
