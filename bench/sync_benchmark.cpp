// bench/sync_benchmark.cpp — locks, atomics and wake-ups between processes; twin: sync_bench.py.
// Each case reports time per operation; the counter `ops` tells the runner how many operations
// one iteration performs.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <mutex>

#include "mp/sharedctypes.hpp"
#include "mp/synchronize.hpp"
#include "support/peer.hpp"

namespace {

constexpr int kBatch = 100'000;

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
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(m, &attr);
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
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&c->mutex, &attr);
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

constexpr int kPings = 2000;

void event_wakeup_mp(benchmark::State& state) {
  mp::Event ping, pong;
  mp::bench::Peer peer([=]() mutable {
    for (int i = 0; i < kPings; ++i) {
      ping.wait();
      ping.clear();
      pong.set();
    }
  });
  peer.run(
      state,
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
  mp::bench::Peer peer([=]() mutable {
    for (int i = 0; i < kPings; ++i) {
      std::lock_guard g(cond);
      cond.wait([&] { return turn.value() == 1; });
      turn.value() = 0;
      cond.notify();
    }
  });
  peer.run(
      state,
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

struct RawFutexPair {
  std::atomic<std::uint32_t> ping{0}, pong{0};
};

void futex_wait_for(std::atomic<std::uint32_t>& w) {
  while (w.load(std::memory_order_acquire) == 0) {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAIT, 0, nullptr, nullptr, 0);
  }
  w.store(0, std::memory_order_relaxed);
}

void futex_post(std::atomic<std::uint32_t>& w) {
  w.store(1, std::memory_order_release);
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void event_wakeup_raw_futex(benchmark::State& state) {
  auto* f = mp::bench::shared_object<RawFutexPair>();
  mp::bench::Peer peer([f] {
    for (int i = 0; i < kPings; ++i) {
      futex_wait_for(f->ping);
      futex_post(f->pong);
    }
  });
  peer.run(
      state,
      [&] {
        for (int i = 0; i < kPings; ++i) {
          futex_post(f->ping);
          futex_wait_for(f->pong);
        }
      },
      2 * kPings);
}

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
BENCHMARK(event_wakeup_raw_futex)->Name("event_wakeup_one_way/raw_futex")->UseRealTime();
BENCHMARK(condition_wakeup_mp)->Name("condition_wakeup_one_way/mp")->UseRealTime();
BENCHMARK(event_wakeup_raw_futex)->Name("condition_wakeup_one_way/raw_futex")->UseRealTime();
