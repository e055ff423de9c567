// tests/sync_test.cpp — locks, semaphores, conditions, events and barriers between processes,
// and the deaths of their holders.
#include <sys/resource.h>

#include <csignal>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "mp/process.hpp"
#include "mp/sharedctypes.hpp"
#include "mp/synchronize.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class SyncTest : public mp::testing::LeakCheckedTest {};

// Polls `cond` until it holds or 10 s pass.
template <class F>
bool eventually(F cond, std::chrono::milliseconds limit = 10s) {
  auto end = Clock::now() + limit;
  while (!cond()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A timed call must return within ±50 ms of its timeout.
template <class F>
void expect_times_out(F call, std::chrono::milliseconds timeout) {
  auto t0 = Clock::now();
  EXPECT_FALSE(call());
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  EXPECT_GE(took, timeout - 1ms);
  EXPECT_LE(took, timeout + 50ms);
}

void join_ok(mp::Process& p) {
  ASSERT_TRUE(p.join(30s)) << "child hung";
  EXPECT_EQ(p.exitcode(), 0);
}

// --- Lock ------------------------------------------------------------------------------------

TEST_F(SyncTest, LockWorksWithStandardGuards) {
  mp::Lock lock;
  {
    std::lock_guard g(lock);
    EXPECT_FALSE(lock.try_lock());
  }
  {
    std::unique_lock g(lock, 10ms);
    EXPECT_TRUE(g.owns_lock());
  }
  mp::Lock other;
  { std::scoped_lock g(lock, other); }
  EXPECT_TRUE(lock.acquire());
  EXPECT_FALSE(lock.acquire(false));
  lock.release();
  EXPECT_THROW(lock.release(), mp::ValueError);
  EXPECT_TRUE(lock.try_lock_until(Clock::now() + 10ms));
  lock.unlock();
}

TEST_F(SyncTest, LockHeldByChildTimesOut) {
  mp::Lock lock;
  mp::Event held, done;
  mp::Process p([=]() mutable {
    std::lock_guard g(lock);
    held.set();
    done.wait_for(30s);
  });
  p.start();
  ASSERT_TRUE(held.wait_for(10s));
  EXPECT_FALSE(lock.try_lock());
  expect_times_out([&] { return lock.acquire(100ms); }, 100ms);
  done.set();
  EXPECT_TRUE(lock.acquire(10s));
  lock.release();
  join_ok(p);
  EXPECT_EQ(lock.owner_deaths(), 0u);
}

TEST_F(SyncTest, LockReleasedByAnotherProcess) {
  mp::Lock lock;
  lock.acquire();
  mp::Process p([lock]() mutable { lock.release(); });  // allowed, as in Python
  p.start();
  join_ok(p);
  EXPECT_TRUE(lock.try_lock());
  lock.release();
}

template <class L>
void holder_killed_test() {
  L lock;
  mp::Event held;
  mp::Process p([=]() mutable {
    lock.acquire();
    held.set();
    for (;;) std::this_thread::sleep_for(1s);
  });
  p.start();
  ASSERT_TRUE(held.wait_for(10s));
  EXPECT_FALSE(lock.try_lock());
  p.kill();
  // Recovery must not wait for the zombie to be reaped: join only afterwards.
  auto t0 = Clock::now();
  EXPECT_TRUE(lock.acquire(2s)) << "the dead holder's lock was not recovered";
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_EQ(lock.owner_deaths(), 1u);
  lock.release();
  // lock() (no timeout) also recovers and does not throw.
  mp::Process q([=]() mutable {
    lock.lock();
    std::raise(SIGKILL);
  });
  q.start();
  ASSERT_TRUE(q.join(10s));
  lock.lock();
  EXPECT_EQ(lock.owner_deaths(), 2u);
  lock.unlock();
  p.join();
}

TEST_F(SyncTest, LockOfKilledHolderIsRecovered) {
  holder_killed_test<mp::Lock>();
}
TEST_F(SyncTest, RLockOfKilledHolderIsRecovered) {
  holder_killed_test<mp::RLock>();
}

TEST_F(SyncTest, LockOfExitedThreadIsRecovered) {
  mp::Lock lock;
  std::thread([&] { lock.acquire(); }).join();
  EXPECT_TRUE(lock.acquire(2s));
  EXPECT_EQ(lock.owner_deaths(), 1u);
  lock.release();
}

TEST_F(SyncTest, LockUnderContentionIsExclusive) {
  mp::Lock lock;
  mp::RawValue<int> inside(0), violations(0), total(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 3; ++i) {
    ps.emplace_back([=]() mutable {
      for (int k = 0; k < 20000; ++k) {
        std::lock_guard g(lock);
        if (inside.fetch_add(1) != 0) violations.fetch_add(1);
        total.value() += 1;
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(total.value(), 60000);
}

TEST_F(SyncTest, ThousandsOfObjectsDespiteALowSoftFdLimit) {
  mp::Process p([] {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_max < 4096) std::exit(0);  // nothing to show on this machine
    lim.rlim_cur = 1024;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    std::vector<mp::Lock> locks(3000);  // one descriptor each
    for (auto& l : locks) l.acquire(0ms);
    std::exit(0);
  });
  p.start();
  ASSERT_TRUE(p.join(30s));
  EXPECT_EQ(p.exitcode(), 0);
}

// --- RLock -----------------------------------------------------------------------------------

TEST_F(SyncTest, RLockIsReentrantAndOwned) {
  mp::RLock r;
  r.acquire();
  r.acquire();
  EXPECT_TRUE(r.is_owned());
  std::thread t([&] {
    EXPECT_FALSE(r.is_owned());
    EXPECT_THROW(r.release(), mp::ValueError);  // not the owner thread
    EXPECT_FALSE(r.try_lock());
  });
  t.join();
  r.release();
  EXPECT_TRUE(r.is_owned());
  r.release();
  EXPECT_FALSE(r.is_owned());
  EXPECT_THROW(r.release(), mp::ValueError);
  mp::Process p([r]() mutable {
    std::lock_guard g(r);
    std::lock_guard again(r);
  });
  p.start();
  join_ok(p);
}

// --- Semaphore -------------------------------------------------------------------------------

TEST_F(SyncTest, SemaphoreBoundsConcurrency) {
  mp::Semaphore sem(2);
  mp::RawValue<int> inside(0), peak(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 4; ++i) {
    ps.emplace_back([=]() mutable {
      for (int k = 0; k < 50; ++k) {
        std::lock_guard g(sem);
        int now = inside.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange(seen, now)) {
        }
        std::this_thread::sleep_for(100us);
        inside.fetch_sub(1);
      }
    });
  }
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_LE(peak.load(), 2);
  EXPECT_EQ(peak.load(), 2);
  EXPECT_EQ(sem.get_value(), 2u);
}

TEST_F(SyncTest, SemaphoreTimedAcquire) {
  mp::Semaphore sem(1);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  expect_times_out([&] { return sem.try_acquire_for(100ms); }, 100ms);
  mp::Process p([sem]() mutable {
    std::this_thread::sleep_for(50ms);
    sem.release();
  });
  p.start();
  EXPECT_TRUE(sem.acquire(10s));
  join_ok(p);
  sem.release(3);
  EXPECT_EQ(sem.get_value(), 3u);
}

TEST_F(SyncTest, BoundedSemaphoreRefusesOverRelease) {
  mp::BoundedSemaphore sem(2);
  EXPECT_THROW(sem.release(), mp::ValueError);
  sem.acquire();
  sem.release();
  EXPECT_THROW(sem.release(), mp::ValueError);
  EXPECT_EQ(sem.get_value(), 2u);
}

// --- Condition -------------------------------------------------------------------------------

TEST_F(SyncTest, ConditionNotifyWakesAWaiterInAnotherProcess) {
  mp::Condition cond;
  mp::RawValue<int> state(0);
  mp::Process p([=]() mutable {
    std::lock_guard g(cond);
    state.store(1);
    cond.wait([&] { return state.load() == 2; });
    state.store(3);
  });
  p.start();
  ASSERT_TRUE(eventually([&] { return state.load() == 1; }));
  {
    std::lock_guard g(cond);  // the child is waiting: it released the lock
    state.store(2);
    cond.notify();
  }
  join_ok(p);
  EXPECT_EQ(state.load(), 3);
}

TEST_F(SyncTest, NotifyAllWakesEveryWaiter) {
  mp::Condition cond;
  mp::RawValue<int> waiting(0), woken(0);
  mp::RawValue<int> go(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 4; ++i) {
    ps.emplace_back([=]() mutable {
      std::lock_guard g(cond);
      waiting.fetch_add(1);
      while (go.load() == 0) {
        if (!cond.wait_for(20s)) return;
      }
      woken.fetch_add(1);
    });
  }
  for (auto& p : ps) p.start();
  ASSERT_TRUE(eventually([&] { return waiting.load() == 4; }));
  {
    std::lock_guard g(cond);
    go.store(1);
    cond.notify_all();
  }
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(woken.load(), 4);
}

TEST_F(SyncTest, ConditionTimedWaitAndMisuse) {
  mp::Lock plain;
  mp::Condition cond(plain);
  EXPECT_THROW(cond.notify(), mp::ValueError);
  EXPECT_THROW(cond.wait_for(1ms), mp::ValueError);
  std::lock_guard g(cond);
  expect_times_out([&] { return cond.wait_for(100ms); }, 100ms);
  expect_times_out([&] { return cond.wait_for(100ms, [] { return false; }); }, 100ms);
  EXPECT_TRUE(cond.wait_for(100ms, [] { return true; }));
  EXPECT_FALSE(plain.try_lock());  // still held after the waits
}

TEST_F(SyncTest, ConditionOverRLockRestoresRecursionDepth) {
  mp::RLock r;
  mp::Condition cond(r);
  r.acquire();
  r.acquire();
  EXPECT_FALSE(cond.wait_for(10ms));
  r.release();
  EXPECT_TRUE(r.is_owned());  // depth 2 was restored: one release leaves it held
  r.release();
  EXPECT_FALSE(r.is_owned());
}

// --- Event -----------------------------------------------------------------------------------

TEST_F(SyncTest, EventAcrossProcesses) {
  mp::Event ev;
  EXPECT_FALSE(ev.is_set());
  expect_times_out([&] { return ev.wait_for(100ms); }, 100ms);
  mp::Process p([ev]() mutable {
    std::this_thread::sleep_for(50ms);
    ev.set();
  });
  p.start();
  EXPECT_TRUE(ev.wait_for(10s));
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait());
  ev.clear();
  EXPECT_FALSE(ev.is_set());
  join_ok(p);
}

TEST_F(SyncTest, EventWakesManyWaiters) {
  mp::Event ev;
  mp::RawValue<int> woken(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 3; ++i) {
    ps.emplace_back([=]() mutable {
      if (ev.wait_for(20s)) woken.fetch_add(1);
    });
  }
  for (auto& p : ps) p.start();
  std::this_thread::sleep_for(50ms);
  ev.set();
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(woken.load(), 3);
}

// --- Barrier ---------------------------------------------------------------------------------

TEST_F(SyncTest, BarrierReleasesAllWithDistinctIndicesAndOneAction) {
  mp::RawValue<int> actions(0);
  mp::RawArray<int> indices(3);
  mp::Barrier barrier(3, [actions] { actions.fetch_add(1); });
  EXPECT_EQ(barrier.parties(), 3u);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 2; ++i) {
    ps.emplace_back([=]() mutable {
      for (int round = 0; round < 100; ++round) barrier.wait(20s);
      indices[static_cast<std::size_t>(i)] = static_cast<int>(barrier.wait(20s));
    });
  }
  for (auto& p : ps) p.start();
  for (int round = 0; round < 100; ++round) barrier.wait(20s);
  indices[2] = static_cast<int>(barrier.wait(20s));
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(actions.load(), 101);
  std::set<int> seen(indices.begin(), indices.end());
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2}));
  EXPECT_FALSE(barrier.broken());
}

TEST_F(SyncTest, BarrierTimeoutBreaksItForEveryone) {
  mp::Barrier barrier(3);
  mp::RawValue<int> broken_seen(0);
  mp::Process p([=]() mutable {
    try {
      barrier.wait(20s);
    } catch (const mp::BrokenBarrierError&) {
      broken_seen.fetch_add(1);
    }
  });
  p.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  auto t0 = Clock::now();
  EXPECT_THROW(barrier.wait(100ms), mp::BrokenBarrierError);
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 99ms);
  EXPECT_LE(took, 150ms);
  join_ok(p);
  EXPECT_EQ(broken_seen.load(), 1);
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW(barrier.wait(1s), mp::BrokenBarrierError);  // stays broken
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
}

TEST_F(SyncTest, BarrierWithDeadPartyBreaksWithinTimeout) {
  mp::Barrier barrier(3, nullptr, 300ms);         // default timeout
  mp::Process dies([] { std::raise(SIGKILL); });  // a party that never arrives
  mp::Process waits([=]() mutable {
    try {
      barrier.wait();
    } catch (const mp::BrokenBarrierError&) {
      std::exit(7);
    }
  });
  dies.start();
  waits.start();
  auto t0 = Clock::now();
  EXPECT_THROW(barrier.wait(), mp::BrokenBarrierError);
  EXPECT_LT(Clock::now() - t0, 1s);
  ASSERT_TRUE(waits.join(10s));
  EXPECT_EQ(waits.exitcode(), 7);
  dies.join();
}

TEST_F(SyncTest, BarrierAbortAndReset) {
  mp::Barrier barrier(2);
  mp::Process p([=]() mutable {
    try {
      barrier.wait(20s);
    } catch (const mp::BrokenBarrierError&) {
      std::exit(3);
    }
  });
  p.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  barrier.abort();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 3);
  EXPECT_TRUE(barrier.broken());
  barrier.reset();
  // Usable again.
  mp::Process q([=]() mutable { barrier.wait(20s); });
  q.start();
  barrier.wait(20s);
  join_ok(q);
}

TEST_F(SyncTest, ResetWithWaitersBreaksOnlyThem) {
  mp::Barrier barrier(2);
  mp::Process p([=]() mutable {
    try {
      barrier.wait(20s);
    } catch (const mp::BrokenBarrierError&) {
      std::exit(4);
    }
  });
  p.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  barrier.reset();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 4);
  EXPECT_FALSE(barrier.broken());
}

TEST_F(SyncTest, ThrowingActionBreaksTheBarrier) {
  mp::Barrier barrier(1, [] { throw std::runtime_error("action failed"); });
  EXPECT_THROW(barrier.wait(), std::runtime_error);
  EXPECT_TRUE(barrier.broken());
}

// --- threads of one process (the tsan preset's ground) -----------------------------------------

TEST_F(SyncTest, ThreadsShareEveryPrimitive) {
  mp::Lock lock;
  mp::RLock rlock;
  mp::Semaphore sem(2);
  mp::Event ev;
  mp::Barrier barrier(4);
  mp::Condition cond;
  int plain = 0, recursive = 0, turns = 0;
  std::atomic<int> in_sem{0}, sem_peak{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      ev.wait();
      barrier.wait(20s);
      for (int k = 0; k < 2000; ++k) {
        {
          std::lock_guard g(lock);
          ++plain;
        }
        {
          std::lock_guard g(rlock);
          std::lock_guard g2(rlock);
          ++recursive;
        }
        std::lock_guard g(sem);
        int now = ++in_sem;
        int seen = sem_peak.load();
        while (now > seen && !sem_peak.compare_exchange_weak(seen, now)) {
        }
        --in_sem;
      }
      std::lock_guard g(cond);
      ++turns;
      cond.notify_all();
    });
  }
  ev.set();
  {
    std::lock_guard g(cond);
    EXPECT_TRUE(cond.wait_for(20s, [&] { return turns == 4; }));
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(plain, 8000);
  EXPECT_EQ(recursive, 8000);
  EXPECT_LE(sem_peak.load(), 2);
}

}  // namespace
