// bench/process_benchmark.cpp — starting and joining a process; twin: process_bench.py.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

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

void mp_process_start_join(benchmark::State& state) {
  for (auto _ : state) {
    mp::Process p([] {});
    p.start();
    p.join();
  }
}

}  // namespace

BENCHMARK(raw_fork_waitpid)->Name("process_start_join/raw_fork_waitpid")->UseRealTime();
BENCHMARK(mp_process_start_join)->Name("process_start_join/mp")->UseRealTime();

BENCHMARK_MAIN();
