// bench/sync_benchmark.cpp — locks, atomics and wake-ups between processes; twin: sync_bench.py.
// Each case reports time per operation; the counter `ops` tells the runner how many operations
// one iteration performs.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <mutex>

#include "mp/sharedctypes.hpp"
#include "mp/synchronize.hpp"
#include "support/peer.hpp"

namespace {

constexpr int kBatch = 100'000;

// A glibc default mutex that works between processes (in memory they share): the raw baseline.
void init_process_shared(pthread_mutex_t* m) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(m, &attr);
}

// --- uncontended acquire + release ---------------------------------------------------------------

void lock_mp(benchmark::State& state) {
  mp::Lock lock;
  for (auto _ : state) {
    lock.acquire();
    lock.release();
  }
}

void lock_raw_pthread(benchmark::State& state) {
  auto* m = mp::bench::shared_object<pthread_mutex_t>();
  init_process_shared(m);
  for (auto _ : state) {
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
  }
}

// --- two processes incrementing a shared counter under a lock ----------------------------------

void locked_increment_mp(benchmark::State& state) {
  mp::Value<long> v(0);
  auto side = [v]() mutable {
    for (int i = 0; i < kBatch; ++i) {
      std::lock_guard g(v.get_lock());
      v.value() += 1;
    }
  };
  mp::bench::Peer peer(side);
  peer.run(state, side, 2 * kBatch);
}

struct RawCounter {
  pthread_mutex_t mutex;
  long value;
};

void locked_increment_raw_pthread(benchmark::State& state) {
  auto* c = mp::bench::shared_object<RawCounter>();
  init_process_shared(&c->mutex);
  auto side = [c] {
    for (int i = 0; i < kBatch; ++i) {
      pthread_mutex_lock(&c->mutex);
      c->value += 1;
      pthread_mutex_unlock(&c->mutex);
    }
  };
  mp::bench::Peer peer(side);
  peer.run(state, side, 2 * kBatch);
}

// --- two processes doing fetch_add --------------------------------------------------------------

void fetch_add_mp(benchmark::State& state) {
  mp::RawValue<long> v(0);
  auto side = [v] {
    for (int i = 0; i < kBatch; ++i) v.fetch_add(1);
  };
  mp::bench::Peer peer(side);
  peer.run(state, side, 2 * kBatch);
}

void fetch_add_raw_atomic(benchmark::State& state) {
  auto* a = mp::bench::shared_object<std::atomic<long>>();
  auto side = [a] {
    for (int i = 0; i < kBatch; ++i) a->fetch_add(1);
  };
  mp::bench::Peer peer(side);
  peer.run(state, side, 2 * kBatch);
}

// --- one-way wake-up latency: ping-pong between two processes ------------------------------------
//
// What users get by default: mp::Event and mp::Condition spin (for up to 20 µs) before sleeping
// on a futex, so a wake-up that comes soon costs no
// trip through the scheduler. The price is CPU: while one side works the other spins, and a wait
// that is not ended within the spin burns all of it first. The raw baselines come in both forms,
// so that like is compared with like: raw_futex_sleep sleeps at once (a scheduler wake-up each
// time), raw_futex_spin spins as mp does. Each row also reports `cpu_per_op`: CPU time of both
// processes together per one-way wake-up, in seconds, beside the wall time.

constexpr int kPings = 2000;

void event_wakeup_mp(benchmark::State& state) {
  mp::Event ping, pong;
  mp::bench::run_pair(
      state,
      [=]() mutable {
        for (int i = 0; i < kPings; ++i) {
          ping.wait();
          ping.clear();
          pong.set();
        }
      },
      [&] {
        for (int i = 0; i < kPings; ++i) {
          ping.set();
          pong.wait();
          pong.clear();
        }
      },
      2 * kPings);
}

void condition_wakeup_mp(benchmark::State& state) {
  mp::Condition cond;
  mp::RawValue<int> turn(0);  // 0: the peer's move is awaited, 1: ours
  mp::bench::run_pair(
      state,
      [=]() mutable {
        for (int i = 0; i < kPings; ++i) {
          std::lock_guard g(cond);
          cond.wait([&] { return turn.value() == 1; });
          turn.value() = 0;
          cond.notify();
        }
      },
      [&] {
        for (int i = 0; i < kPings; ++i) {
          std::lock_guard g(cond);
          turn.value() = 1;
          cond.notify();
          cond.wait([&] { return turn.value() == 0; });
        }
      },
      2 * kPings);
}

// A one-shot flag with a waiters count, as mp's Event keeps one: a post makes the FUTEX_WAKE
// system call only when someone sleeps, so the spinning form pays no system call on either side.
struct RawFlag {
  std::atomic<std::uint32_t> set{0};
  std::atomic<std::uint32_t> sleepers{0};
};

struct RawFutexPair {
  RawFlag ping, pong;
};

// Waits for `f` to be posted, then consumes the post. `Spins` pauses first, as mp's waits do.
template <int Spins>
void futex_wait_for(RawFlag& f) {
  for (int i = 0; i < Spins && f.set.load(std::memory_order_acquire) == 0; ++i) {
    __builtin_ia32_pause();
  }
  if (f.set.load(std::memory_order_acquire) == 0) {
    f.sleepers.fetch_add(1, std::memory_order_seq_cst);
    while (f.set.load(std::memory_order_seq_cst) == 0) {
      ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&f.set), FUTEX_WAIT, 0, nullptr,
                nullptr, 0);
    }
    f.sleepers.fetch_sub(1, std::memory_order_relaxed);
  }
  f.set.store(0, std::memory_order_relaxed);
}

void futex_post(RawFlag& f) {
  f.set.store(1, std::memory_order_seq_cst);
  if (f.sleepers.load(std::memory_order_seq_cst) != 0) {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&f.set), FUTEX_WAKE, 1, nullptr, nullptr,
              0);
  }
}

template <int Spins>
void event_wakeup_raw_futex(benchmark::State& state) {
  auto* f = mp::bench::shared_object<RawFutexPair>();
  mp::bench::run_pair(
      state,
      [f] {
        for (int i = 0; i < kPings; ++i) {
          futex_wait_for<Spins>(f->ping);
          futex_post(f->pong);
        }
      },
      [&] {
        for (int i = 0; i < kPings; ++i) {
          futex_post(f->ping);
          futex_wait_for<Spins>(f->pong);
        }
      },
      2 * kPings);
}

// The Condition's like-with-like baseline: a process-shared pthread condition variable and mutex,
// the same turn-taking as condition_wakeup_mp. glibc's condition variable sleeps at once.
struct RawCondition {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int turn;  // 0: the peer's move is awaited, 1: ours
};

void condition_wakeup_raw_pthread(benchmark::State& state) {
  auto* c = mp::bench::shared_object<RawCondition>();
  init_process_shared(&c->mutex);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(&c->cond, &ca);
  mp::bench::run_pair(
      state,
      [c] {
        for (int i = 0; i < kPings; ++i) {
          pthread_mutex_lock(&c->mutex);
          while (c->turn != 1) pthread_cond_wait(&c->cond, &c->mutex);
          c->turn = 0;
          pthread_cond_signal(&c->cond);
          pthread_mutex_unlock(&c->mutex);
        }
      },
      [&] {
        for (int i = 0; i < kPings; ++i) {
          pthread_mutex_lock(&c->mutex);
          c->turn = 1;
          pthread_cond_signal(&c->cond);
          while (c->turn != 0) pthread_cond_wait(&c->cond, &c->mutex);
          pthread_mutex_unlock(&c->mutex);
        }
      },
      2 * kPings);
}

// --- a poll of an unset event: wait with timeout 0 ---------------------------------------------
//
// What a wait that is not ended within the spin costs in CPU: today mp's event_wait spins its
// whole budget before it looks at the deadline, so even wait_for(0) (Python's wait(0), a poll)
// pays it. The raw row is the load of the flag that such a poll needs.

void event_poll_unset_mp(benchmark::State& state) {
  mp::Event e;
  for (auto _ : state) benchmark::DoNotOptimize(e.wait_for(std::chrono::nanoseconds(0)));
}

void event_poll_unset_raw_atomic(benchmark::State& state) {
  auto* flag = mp::bench::shared_object<std::atomic<std::uint32_t>>();
  for (auto _ : state) benchmark::DoNotOptimize(flag->load(std::memory_order_acquire) != 0);
}

// Spins as many times as mp::Event's and mp::Condition's waits (src/shm/event.cpp, condition.cpp).
constexpr int kMpSpins = 2000;

}  // namespace

BENCHMARK(lock_mp)->Name("lock_acquire_release/mp");
BENCHMARK(lock_raw_pthread)->Name("lock_acquire_release/raw_pthread_mutex");
BENCHMARK(locked_increment_mp)->Name("locked_increment_2proc/mp")->UseRealTime();
BENCHMARK(locked_increment_raw_pthread)
    ->Name("locked_increment_2proc/raw_pthread_mutex")
    ->UseRealTime();
BENCHMARK(fetch_add_mp)->Name("fetch_add_2proc/mp")->UseRealTime();
BENCHMARK(fetch_add_raw_atomic)->Name("fetch_add_2proc/raw_atomic")->UseRealTime();
BENCHMARK(event_wakeup_mp)->Name("event_wakeup_one_way/mp")->UseRealTime();
BENCHMARK(event_wakeup_raw_futex<0>)->Name("event_wakeup_one_way/raw_futex_sleep")->UseRealTime();
BENCHMARK(event_wakeup_raw_futex<kMpSpins>)
    ->Name("event_wakeup_one_way/raw_futex_spin")
    ->UseRealTime();
BENCHMARK(condition_wakeup_mp)->Name("condition_wakeup_one_way/mp")->UseRealTime();
BENCHMARK(condition_wakeup_raw_pthread)
    ->Name("condition_wakeup_one_way/raw_pthread_cond_sleep")
    ->UseRealTime();
BENCHMARK(event_wakeup_raw_futex<0>)
    ->Name("condition_wakeup_one_way/raw_futex_sleep")
    ->UseRealTime();
BENCHMARK(event_wakeup_raw_futex<kMpSpins>)
    ->Name("condition_wakeup_one_way/raw_futex_spin")
    ->UseRealTime();
BENCHMARK(event_poll_unset_mp)->Name("event_wait_timeout_0_unset/mp");
BENCHMARK(event_poll_unset_raw_atomic)->Name("event_wait_timeout_0_unset/raw_atomic_load");
