// bench/support/peer.hpp — a second process for two-process benchmarks.
//
// The peer is forked once per benchmark and runs `batch` on command, so that process start-up
// is not measured: each iteration, the parent releases the peer, runs its own side, and waits
// for the peer to finish its side.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sched.h>
#include <atomic>
#include <cstdint>
#include <functional>

namespace mp::bench {

class Peer {
 public:
  // `side` runs in the peer once per round.
  explicit Peer(std::function<void()> side) {
    control_ = static_cast<Control*>(::mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE,
                                            MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    new (control_) Control();
    pid_ = ::fork();
    if (pid_ == 0) {
      std::uint32_t seen = 0;
      for (;;) {
        std::uint32_t round;
        while ((round = control_->go.load(std::memory_order_acquire)) == seen) ::sched_yield();
        if (round == kStop) ::_exit(0);
        seen = round;
        side();
        control_->done.store(round, std::memory_order_release);
      }
    }
  }
  ~Peer() {
    control_->go.store(kStop, std::memory_order_release);
    ::waitpid(pid_, nullptr, 0);
    ::munmap(control_, sizeof(Control));
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // Starts the peer's side of a round; returns at once.
  void start_round() { control_->go.store(++round_, std::memory_order_release); }
  void wait_round() {
    while (control_->done.load(std::memory_order_acquire) != round_) ::sched_yield();
  }

  // The benchmark loop: each iteration runs the peer's side and `mine` together; `ops` is how
  // many operations one iteration performs, for the runner's time per operation.
  template <class F>
  void run(benchmark::State& state, F&& mine, int ops) {
    for (auto _ : state) {
      start_round();
      mine();
      wait_round();
    }
    state.counters["ops"] = ops;
  }

 private:
  static constexpr std::uint32_t kStop = 0xffffffffu;
  struct Control {
    std::atomic<std::uint32_t> go{0};
    std::atomic<std::uint32_t> done{0};
  };
  Control* control_;
  pid_t pid_;
  std::uint32_t round_ = 0;
};

// CPU time of this process and its waited-for children, in seconds.
inline double cpu_seconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    ::getrusage(who, &u);
    for (const timeval& t : {u.ru_utime, u.ru_stime}) total += t.tv_sec + t.tv_usec * 1e-6;
  }
  return total;
}

// Peer::run with a peer of its own, also reporting counter `cpu_per_op`: the CPU both processes
// spent per operation (the peer's is counted once it has been reaped), to show what a waiter
// that spins costs beside one that sleeps.
template <class Side, class Mine>
void run_pair(benchmark::State& state, Side side, Mine&& mine, int ops) {
  const double before = cpu_seconds();
  {
    Peer peer(std::move(side));
    peer.run(state, mine, ops);
  }
  state.counters["cpu_per_op"] =
      (cpu_seconds() - before) / (static_cast<double>(state.iterations()) * ops);
}

// Memory shared with processes forked afterwards, for the raw baselines.
template <class T>
T* shared_object() {
  void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return new (p) T();
}

}  // namespace mp::bench
