// bench/process_benchmark.cpp — starting and joining a process, under each start method; twin:
// process_bench.py.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mp/context.hpp"
#include "mp/process.hpp"

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

}  // namespace

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
