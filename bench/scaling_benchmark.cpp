// bench/scaling_benchmark.cpp — one scaling case at one worker count; bench/scaling.py runs it for
// 1, 2, 4, … workers beside CPython's same case and prints the table.
//
//   scaling_benchmark --case trivial|cpu|fan_in --workers N --tasks N [--repeats R]
//
// Prints "rate <per second>": the best of R timed repeats (the machine is shared, so the best
// run is the one least disturbed). Process and pool start-up are not timed. Cases:
//   trivial  Pool(N).map(square, tasks ints, chunksize 1): tasks per second.
//   cpu      Pool(N).map at chunksize 1 of a task that burns 1 ms of its worker's CPU time:
//            tasks per second (the ideal is 1000 × min(N, cores)).
//   fan_in   N producer processes put `tasks` small ints in all on one Queue, the parent gets
//            them: messages per second.
// Not a Google Benchmark program (bench/run.py skips it): one case per run keeps each worker
// count in a fresh process, as each CPython case gets a fresh pool.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mp/context.hpp"
#include "mp/errors.hpp"
#include "mp/pool.hpp"
#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "mp/synchronize.hpp"

namespace {

using Clock = std::chrono::steady_clock;
// Every wait of a case gives up after this long; a case that hits it fails the run.
constexpr auto kLimit = std::chrono::seconds(120);

int square(int n) {
  return n * n;
}

// Burns 1 ms of this thread's CPU time, however often the worker is preempted: every worker
// count and both implementations do the same work per task.
int burn_1ms(int n) {
  auto now = [] {
    timespec ts;
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
  };
  const long long end = now() + 1'000'000;
  while (now() < end) {
  }
  return n;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The rate of Pool(workers).map(f, 0..tasks-1, chunksize 1), best of `repeats`.
template <class F>
double pool_map_rate(F f, int workers, int tasks, int repeats) {
  mp::Pool pool(workers);
  std::vector<int> xs(tasks);
  std::iota(xs.begin(), xs.end(), 0);
  // Warm-up: every worker is up and has run a task before the clock starts.
  pool.map_async(square, std::vector<int>(4 * workers, 1), 1).get(kLimit);
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    const auto out = pool.map_async(f, xs, 1).get(kLimit);
    const double rate = tasks / seconds_since(start);
    if (out.size() != xs.size()) throw std::runtime_error("map returned too few results");
    best = std::max(best, rate);
  }
  return best;
}

// One round of the fan-in: `producers` processes, started and waiting before the clock starts.
double fan_in_once(int producers, int tasks) {
  mp::Queue<long> q;
  mp::Semaphore ready(0);
  mp::Event go;
  const int per = tasks / producers;
  std::vector<mp::Process> procs;
  for (int p = 0; p < producers; ++p) {
    procs.emplace_back([q, ready, go, per]() mutable {
      ready.release();
      if (!go.wait_for(kLimit)) std::exit(1);
      for (long i = 0; i < per; ++i) q.put(i);
    });
    procs.back().set_daemon(true);  // dies with this program if it is killed
    procs.back().start();
  }
  auto cleanup = [&] {
    for (auto& p : procs) {
      if (!p.join(std::chrono::seconds(10))) p.kill();
      p.join(std::chrono::seconds(10));
    }
  };
  try {
    for (int p = 0; p < producers; ++p) {
      if (!ready.acquire(kLimit)) throw std::runtime_error("a producer did not start");
    }
    const auto start = Clock::now();
    go.set();
    long sum = 0;
    for (long i = 0; i < static_cast<long>(per) * producers; ++i) sum += q.get(kLimit);
    const double rate = static_cast<double>(per) * producers / seconds_since(start);
    if (sum != static_cast<long>(producers) * per * (per - 1) / 2) {
      throw std::runtime_error("messages were lost or changed");
    }
    cleanup();
    return rate;
  } catch (...) {
    for (auto& p : procs) p.kill();
    cleanup();
    throw;
  }
}

double fan_in_rate(int producers, int tasks, int repeats) {
  double best = 0;
  for (int r = 0; r < repeats; ++r) best = std::max(best, fan_in_once(producers, tasks));
  return best;
}

int usage() {
  std::fprintf(stderr,
               "usage: scaling_benchmark --case trivial|cpu|fan_in --workers N --tasks N "
               "[--repeats R]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  mp::freeze_support();
  std::string which;
  int workers = 0, tasks = 0, repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--case") {
      which = value;
    } else if (flag == "--workers") {
      workers = std::atoi(value);
    } else if (flag == "--tasks") {
      tasks = std::atoi(value);
    } else if (flag == "--repeats") {
      repeats = std::atoi(value);
    } else {
      return usage();
    }
  }
  if (argc % 2 != 1 || workers < 1 || tasks < workers || repeats < 1) return usage();
  try {
    double rate;
    if (which == "trivial") {
      rate = pool_map_rate(square, workers, tasks, repeats);
    } else if (which == "cpu") {
      rate = pool_map_rate(burn_1ms, workers, tasks, repeats);
    } else if (which == "fan_in") {
      rate = fan_in_rate(workers, tasks, repeats);
    } else {
      return usage();
    }
    std::printf("rate %.6g\n", rate);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scaling_benchmark: %s\n", e.what());
    return 1;
  }
}
