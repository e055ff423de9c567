// bench/support/main.cpp — the main of every benchmark program: Google Benchmark's, after the
// line that lets spawn and forkserver re-execute the program to run a child (mp/context.hpp).
#include <benchmark/benchmark.h>

#include "mp/context.hpp"

int main(int argc, char** argv) {
  mp::freeze_support();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
