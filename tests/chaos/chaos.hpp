// tests/chaos/chaos.hpp — the crash-injection harness: a seeded random source per iteration,
// plain shared memory for the children's reports, bounded joins, the victim's kill at a random
// moment inside an operation, and the table of kills, checks and failures printed at the end.
//
// How a kill lands "inside an operation": the victim loops over operations and bumps a counter
// in shared memory after each one returns. The parent waits (bounded) until that counter reaches
// a random target, spins a random 0-200 us, and sends SIGKILL. Nothing here sleeps to order two
// processes.
//
// Environment:
//   MP_CHAOS_SEED        the seed (default: from the clock); printed at start so a failure
//                        reproduces with MP_CHAOS_SEED=<seed> (each iteration's randomness
//                        derives from the seed, the test's name and the iteration number).
//   MP_CHAOS_ITERATIONS  iterations per test (default 12; a quarter under sanitizers).
//   MP_CHAOS_REPORT      a file the table's rows are appended to (tab-separated), so that the
//                        tables of separate processes (ctest runs each test alone) can be summed.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <new>
#include <random>
#include <string>

#include "mp/process.hpp"

namespace mp::chaos {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// True when built with a sanitizer: everything is slower, so iterations and timeouts scale.
bool sanitized() noexcept;
std::uint64_t seed();
int iterations();
// A child's bound: how long a survivor may take to finish once its work can go on.
std::chrono::milliseconds child_timeout();

// Plain anonymous shared memory (MAP_SHARED) for one T, made before the children fork, so they
// see the same object; no descriptor, nothing in /dev/shm. T must be standard layout with
// lock-free atomics (all-zero bytes are its initial state).
void* map_shared(std::size_t bytes);
void unmap_shared(void* p, std::size_t bytes) noexcept;

template <class T>
class Shared {
 public:
  Shared() : p_(new (map_shared(sizeof(T))) T()) {}
  ~Shared() {
    p_->~T();
    unmap_shared(p_, sizeof(T));
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }

 private:
  T* p_;
};

// What children report besides their counters: errors they saw (an exception, a timed-out wait,
// a corrupted message), the first one's text kept for the failure message.
struct ChildErrors {
  std::atomic<std::uint32_t> count;
  std::atomic<std::uint32_t> text_taken;
  char text[512];

  void report(const std::string& what) noexcept;
  std::string first() const;
};

// A random source for one iteration of one test.
class Rng {
 public:
  Rng(const std::string& test, int iteration);
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : engine_() % n; }  // [0, n)
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  bool chance(unsigned percent) { return below(100) < percent; }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

// The table: one row per operation.
struct Row {
  std::uint64_t iterations = 0;
  std::uint64_t kills = 0;  // SIGKILLs that landed in a running victim
  std::uint64_t checks = 0;
  std::uint64_t failures = 0;
};
Row& row(const std::string& operation);
void print_table();

// One iteration of one operation: counts checks and failures into the table and reports each
// failure with what reproduces it.
class Iteration {
 public:
  Iteration(std::string operation, int index);
  // Counts a check; on failure, a gtest failure naming the operation, seed and iteration.
  bool check(bool ok, const std::string& what);
  void killed() { ++row(op_).kills; }
  // Context printed with every failure of this iteration (who was killed, when).
  void note(const std::string& text) { notes_ += notes_.empty() ? text : "; " + text; }
  const std::string& operation() const { return op_; }
  int index() const { return index_; }

 private:
  std::string op_;
  int index_;
  std::string notes_;
};

// Waits (bounded by `timeout`) until `reached()` holds or `p` has ended; then spins `delay_us`
// and sends SIGKILL. Returns whether `p` was still running when killed (its exit code is then
// checked by the caller's join: -9).
template <class F>
bool kill_when(mp::Process& p, F reached, unsigned delay_us, std::chrono::milliseconds timeout);

// Joins `p` within `timeout`; a child still running then is killed, reaped and reported as hung
// (false).
bool join_bounded(mp::Process& p, std::chrono::milliseconds timeout);

// Spins for `us` microseconds (no sleep: a sleep's granularity is far above the window).
void spin_for_us(unsigned us) noexcept;

bool process_running(mp::Process& p);
void yield_now() noexcept;

template <class F>
bool kill_when(mp::Process& p, F reached, unsigned delay_us, std::chrono::milliseconds timeout) {
  const auto end = Clock::now() + timeout;
  for (unsigned n = 0; !reached(); ++n) {
    if (n % 64 == 0 && (Clock::now() >= end || !process_running(p))) break;
    yield_now();  // the victim may need this CPU to get there
  }
  spin_for_us(delay_us);
  const bool running = process_running(p);
  p.kill();
  return running;
}

// A deterministic payload for message `id`: its bytes and a checksum that mixes in the id.
std::string payload_for(std::uint64_t id, std::size_t size);
std::uint64_t checksum(std::uint64_t id, const std::string& payload) noexcept;

}  // namespace mp::chaos
