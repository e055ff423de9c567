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
#include "support/children.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"

namespace {

using mp::testing::join_ok;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Tests without a child, and the few that need fork.
class SyncTest : public mp::testing::LeakCheckedTest {};

// Tests between processes, under every start method: children get the shared objects as
// arguments, never by capture.
class SyncMethodTest : public mp::testing::MethodTest {};
MP_INSTANTIATE_FOR_EVERY_METHOD(SyncMethodTest);

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

// A timed call must not return before its timeout; how late it may return is generous (a
// loaded 2-core machine may not run us for a while).
constexpr auto kLate = 2s;
template <class F>
void expect_times_out(F call, std::chrono::milliseconds timeout) {
  auto t0 = Clock::now();
  EXPECT_FALSE(call());
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  EXPECT_GE(took, timeout - 1ms);
  EXPECT_LE(took, timeout + kLate);
}

// Each child, once it has said it is about to wait, is asleep in the wait itself (futex(2)):
// a wake-up sent now reaches a real sleeper and cannot pass for one that was never needed.
void expect_asleep(const mp::Process& p) {
  EXPECT_TRUE(mp::testing::wait_until_asleep_in_futex(p.pid(), 10s))
      << "child " << p.pid() << " never went to sleep in its wait";
}
void expect_asleep(const std::vector<mp::Process>& ps) {
  for (const auto& p : ps) expect_asleep(p);
}

// For a child asleep in a wait of kLongWait that the test has just woken: it must end well
// before its own timeout could end the wait (a timed wait that times out may still report
// success when the event was set meanwhile, so its result alone cannot tell).
constexpr auto kLongWait = 60s;
void join_woken(mp::Process& p) {
  ASSERT_TRUE(p.join(15s)) << "not woken: still waiting";
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

TEST_P(SyncMethodTest, LockHeldByChildTimesOut) {
  mp::Lock lock;
  mp::Event held, done;
  auto p = ctx().Process(
      [](mp::Lock lock, mp::Event held, mp::Event done) {
        std::lock_guard g(lock);
        held.set();
        done.wait_for(30s);
      },
      lock, held, done);
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

TEST_P(SyncMethodTest, LockReleasedByAnotherProcess) {
  mp::Lock lock;
  lock.acquire();
  auto p = ctx().Process([](mp::Lock lock) { lock.release(); }, lock);  // allowed, as in Python
  p.start();
  join_ok(p);
  EXPECT_TRUE(lock.try_lock());
  lock.release();
}

template <class L>
void holder_killed_test(const mp::Context& ctx) {
  L lock;
  mp::Event held;
  auto p = ctx.Process(
      [](L lock, mp::Event held) {
        lock.acquire();
        held.set();
        for (;;) std::this_thread::sleep_for(1s);
      },
      lock, held);
  p.start();
  ASSERT_TRUE(held.wait_for(10s));
  EXPECT_FALSE(lock.try_lock());
  p.kill();
  // Recovery must not wait for the zombie to be reaped: join only afterwards.
  EXPECT_TRUE(lock.acquire(5s)) << "the dead holder's lock was not recovered";
  EXPECT_EQ(lock.owner_deaths(), 1u);
  lock.release();
  // lock() (no timeout) also recovers and does not throw.
  auto q = ctx.Process(
      [](L lock) {
        lock.lock();
        std::raise(SIGKILL);
      },
      lock);
  q.start();
  ASSERT_TRUE(q.join(10s));
  lock.lock();
  EXPECT_EQ(lock.owner_deaths(), 2u);
  lock.unlock();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), -SIGKILL);
  EXPECT_EQ(q.exitcode(), -SIGKILL);
}

TEST_P(SyncMethodTest, LockOfKilledHolderIsRecovered) {
  holder_killed_test<mp::Lock>(ctx());
}
TEST_P(SyncMethodTest, RLockOfKilledHolderIsRecovered) {
  holder_killed_test<mp::RLock>(ctx());
}

TEST_F(SyncTest, LockOfExitedThreadIsRecovered) {
  mp::Lock lock;
  std::thread([&] { lock.acquire(); }).join();
  EXPECT_TRUE(lock.acquire(2s));
  EXPECT_EQ(lock.owner_deaths(), 1u);
  lock.release();
}

void count_exclusively(mp::Lock lock, mp::RawValue<int> inside, mp::RawValue<int> violations,
                       mp::RawValue<int> total) {
  for (int k = 0; k < 20000; ++k) {
    std::lock_guard g(lock);
    if (inside.fetch_add(1) != 0) violations.fetch_add(1);
    total.value() += 1;
    inside.fetch_sub(1);
  }
}

TEST_P(SyncMethodTest, LockUnderContentionIsExclusive) {
  mp::Lock lock;
  mp::RawValue<int> inside(0), violations(0), total(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 3; ++i) {
    ps.push_back(ctx().Process(count_exclusively, lock, inside, violations, total));
  }
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(total.value(), 60000);
}

TEST_P(SyncMethodTest, ThousandsOfObjectsDespiteALowSoftFdLimit) {
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 4096) {
    GTEST_SKIP() << "the hard RLIMIT_NOFILE is " << lim.rlim_max
                 << ": 3000 objects (one descriptor each) cannot fit, nothing to show here";
  }
  auto p = ctx().Process([] {
    rlimit soft{};
    ::getrlimit(RLIMIT_NOFILE, &soft);
    soft.rlim_cur = 1024;
    if (::setrlimit(RLIMIT_NOFILE, &soft) != 0) std::exit(2);
    std::vector<mp::Lock> locks(3000);  // one descriptor each: past the soft limit
    for (auto& l : locks) {
      if (!l.acquire(0ms)) std::exit(3);
    }
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
}

TEST_P(SyncMethodTest, RLockIsReentrantInAChild) {
  mp::RLock r;
  auto p = ctx().Process(
      [](mp::RLock r) {
        std::lock_guard g(r);
        std::lock_guard again(r);
      },
      r);
  p.start();
  join_ok(p);
  EXPECT_TRUE(r.try_lock()) << "the child's lock_guards did not let go";
  EXPECT_EQ(r.owner_deaths(), 0u) << "the child exited holding it";
  r.release();
}

// --- Semaphore -------------------------------------------------------------------------------

void enter_bounded(mp::Semaphore sem, mp::RawValue<int> inside, mp::RawValue<int> peak) {
  for (int k = 0; k < 50; ++k) {
    std::lock_guard g(sem);
    int now = inside.fetch_add(1) + 1;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange(seen, now)) {
    }
    // The first time in, stay until a second process is inside too, so that the peak does not
    // depend on how the processes happen to be scheduled; a semaphore that let only one in
    // leaves the peak at 1 (after the deadline).
    const auto end = Clock::now() + 10s;
    while (k == 0 && peak.load() < 2 && Clock::now() < end) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(100us);
    inside.fetch_sub(1);
  }
}

TEST_P(SyncMethodTest, SemaphoreBoundsConcurrency) {
  mp::Semaphore sem(2);
  mp::RawValue<int> inside(0), peak(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 4; ++i) ps.push_back(ctx().Process(enter_bounded, sem, inside, peak));
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_LE(peak.load(), 2);
  EXPECT_EQ(peak.load(), 2);
  EXPECT_EQ(sem.get_value(), 2u);
}

TEST_P(SyncMethodTest, SemaphoreTimedAcquire) {
  mp::Semaphore sem(1);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  expect_times_out([&] { return sem.try_acquire_for(100ms); }, 100ms);
  // A waiter asleep in another process is woken by a release here.
  auto p = ctx().Process([](mp::Semaphore sem) { std::exit(sem.acquire(kLongWait) ? 0 : 1); }, sem);
  p.start();
  expect_asleep(p);
  sem.release();
  join_woken(p);
  EXPECT_EQ(sem.get_value(), 0u);
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

TEST_P(SyncMethodTest, ConditionNotifyWakesAWaiterInAnotherProcess) {
  mp::Condition cond;
  mp::RawValue<int> state(0);
  auto p = ctx().Process(
      [](mp::Condition cond, mp::RawValue<int> state) {
        std::lock_guard g(cond);
        state.store(1);  // under the lock, which only the wait below lets go
        if (!cond.wait_for(kLongWait, [&] { return state.load() == 2; })) std::exit(1);
        state.store(3);
      },
      cond, state);
  p.start();
  ASSERT_TRUE(eventually([&] { return state.load() == 1; }));
  expect_asleep(p);
  {
    std::lock_guard g(cond);  // the child is waiting: it released the lock
    state.store(2);
    cond.notify();
  }
  join_woken(p);
  EXPECT_EQ(state.load(), 3);
}

// Waiters that each take one ticket: notify(n) with n tickets must let exactly n go (a waiter
// woken without a ticket, which the header allows as a spurious wake-up, waits again), and a
// notify() that woke nobody leaves its ticket untaken, which the test sees.
void take_a_ticket(mp::Condition cond, mp::RawValue<int> waiting, mp::RawValue<int> tickets,
                   mp::RawValue<int> gone) {
  std::lock_guard g(cond);
  waiting.fetch_add(1);  // under the lock: the parent's next notify finds this one waiting
  if (!cond.wait_for(kLongWait, [&] { return tickets.load() > 0; })) std::exit(1);
  tickets.fetch_sub(1);
  gone.fetch_add(1);
}

TEST_P(SyncMethodTest, NotifyNLetsExactlyNTicketWaitersGo) {
  constexpr int kWaiters = 4;
  mp::Condition cond;
  mp::RawValue<int> waiting(0), tickets(0), gone(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < kWaiters; ++i) {
    ps.push_back(ctx().Process(take_a_ticket, cond, waiting, tickets, gone));
  }
  for (auto& p : ps) p.start();
  ASSERT_TRUE(eventually([&] { return waiting.load() == kWaiters; }));
  expect_asleep(ps);
  auto release = [&](int n, bool all) {
    std::lock_guard g(cond);
    tickets.fetch_add(n);
    if (all) {
      cond.notify_all();
    } else {
      cond.notify(n);
    }
  };
  release(1, false);
  EXPECT_TRUE(eventually([&] { return gone.load() == 1; })) << "notify() woke nobody";
  release(2, false);
  EXPECT_TRUE(eventually([&] { return gone.load() == 3; })) << "notify(2) woke fewer than 2";
  EXPECT_EQ(tickets.load(), 0);
  // The last waiter has stayed: nothing let it go so far. Give it a chance to go wrongly.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(gone.load(), 3);
  release(1, true);
  for (auto& p : ps) join_woken(p);
  EXPECT_EQ(gone.load(), kWaiters);
  EXPECT_EQ(tickets.load(), 0);
}

void wait_for_go(mp::Condition cond, mp::RawValue<int> waiting, mp::RawValue<int> woken,
                 mp::RawValue<int> go) {
  std::lock_guard g(cond);
  waiting.fetch_add(1);
  while (go.load() == 0) {
    if (!cond.wait_for(kLongWait)) std::exit(1);
  }
  woken.fetch_add(1);
}

TEST_P(SyncMethodTest, NotifyAllWakesEveryWaiter) {
  mp::Condition cond;
  mp::RawValue<int> waiting(0), woken(0);
  mp::RawValue<int> go(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 4; ++i) ps.push_back(ctx().Process(wait_for_go, cond, waiting, woken, go));
  for (auto& p : ps) p.start();
  ASSERT_TRUE(eventually([&] { return waiting.load() == 4; }));
  expect_asleep(ps);  // all four asleep: one notify_all must wake each of them
  {
    std::lock_guard g(cond);
    go.store(1);
    cond.notify_all();
  }
  for (auto& p : ps) join_woken(p);
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

TEST_P(SyncMethodTest, EventAcrossProcesses) {
  mp::Event ev;
  EXPECT_FALSE(ev.is_set());
  expect_times_out([&] { return ev.wait_for(100ms); }, 100ms);
  auto p = ctx().Process(
      [](mp::Event ev) { std::exit(ev.wait_for(kLongWait) && ev.is_set() ? 0 : 1); }, ev);
  p.start();
  expect_asleep(p);
  ev.set();
  join_woken(p);
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait());  // set: returns at once
  ev.clear();
  EXPECT_FALSE(ev.is_set());
  expect_times_out([&] { return ev.wait_for(50ms); }, 50ms);
}

TEST_P(SyncMethodTest, EventWakesManyWaiters) {
  mp::Event ev;
  mp::RawValue<int> woken(0);
  std::vector<mp::Process> ps;
  for (int i = 0; i < 3; ++i) {
    ps.push_back(ctx().Process(
        [](mp::Event ev, mp::RawValue<int> woken) {
          if (ev.wait_for(kLongWait)) woken.fetch_add(1);
        },
        ev, woken));
  }
  for (auto& p : ps) p.start();
  expect_asleep(ps);  // each is inside wait_for, not merely about to call it
  ev.set();
  for (auto& p : ps) join_woken(p);
  EXPECT_EQ(woken.load(), 3);
}

// --- Barrier ---------------------------------------------------------------------------------

// Fork only: the action is a std::function, code that cannot travel to a spawned child.
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

TEST_P(SyncMethodTest, BarrierTimeoutBreaksItForEveryone) {
  mp::Barrier barrier(3);
  mp::RawValue<int> broken_seen(0);
  auto p = ctx().Process(
      [](mp::Barrier barrier, mp::RawValue<int> broken_seen) {
        try {
          barrier.wait(20s);
        } catch (const mp::BrokenBarrierError&) {
          broken_seen.fetch_add(1);
        }
      },
      barrier, broken_seen);
  p.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  auto t0 = Clock::now();
  EXPECT_THROW(barrier.wait(100ms), mp::BrokenBarrierError);
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 99ms);
  EXPECT_LE(took, 100ms + kLate);
  join_ok(p);
  EXPECT_EQ(broken_seen.load(), 1);
  EXPECT_TRUE(barrier.broken());
  EXPECT_THROW(barrier.wait(1s), mp::BrokenBarrierError);  // stays broken
  barrier.reset();
  EXPECT_FALSE(barrier.broken());
}

// A party killed inside wait() has arrived (barrier.cpp counts it under the barrier's lock
// before sleeping, and nothing takes the count back): its generation still passes when the
// others arrive. The next generation lacks it, and breaks for everyone on the default timeout.
TEST_P(SyncMethodTest, PartyKilledInsideWaitCountsAndTheNextRoundBreaksOnTimeout) {
  mp::Barrier barrier(3, nullptr, 500ms);  // the default timeout
  mp::Event about_to_wait;
  auto dies = ctx().Process(
      [](mp::Barrier barrier, mp::Event about_to_wait) {
        about_to_wait.set();
        barrier.wait(20s);
        std::exit(1);  // never reached: killed inside the wait
      },
      barrier, about_to_wait);
  dies.start();
  ASSERT_TRUE(about_to_wait.wait_for(10s));
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  dies.kill();
  ASSERT_TRUE(dies.join(10s));
  EXPECT_EQ(dies.exitcode(), -SIGKILL);
  EXPECT_EQ(barrier.n_waiting(), 1u) << "the dead party's arrival stays counted";
  EXPECT_FALSE(barrier.broken());

  mp::RawValue<int> survivor_index(-1);
  auto survivor = ctx().Process(
      [](mp::Barrier barrier, mp::RawValue<int> survivor_index) {
        survivor_index.store(static_cast<int>(barrier.wait(20s)));  // passes with the parent
        try {
          barrier.wait();  // the default timeout, which travelled with the handle
        } catch (const mp::BrokenBarrierError&) {
          std::exit(7);
        }
      },
      barrier, survivor_index);
  survivor.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 2; }));
  const auto index = barrier.wait(20s);  // the third arrival: the generation passes
  EXPECT_EQ(index, 2u);
  ASSERT_TRUE(eventually([&] { return survivor_index.load() != -1; }));
  EXPECT_EQ(survivor_index.load(), 1);

  auto t0 = Clock::now();
  EXPECT_THROW(barrier.wait(), mp::BrokenBarrierError);
  const auto took = Clock::now() - t0;
  EXPECT_LT(took, 500ms + kLate);  // broken by whichever survivor timed out first
  ASSERT_TRUE(survivor.join(10s));
  EXPECT_EQ(survivor.exitcode(), 7);
  EXPECT_TRUE(barrier.broken());
}

TEST_P(SyncMethodTest, BarrierAbortAndReset) {
  mp::Barrier barrier(2);
  auto p = ctx().Process(
      [](mp::Barrier barrier) {
        try {
          barrier.wait(20s);
        } catch (const mp::BrokenBarrierError&) {
          std::exit(3);
        }
      },
      barrier);
  p.start();
  ASSERT_TRUE(eventually([&] { return barrier.n_waiting() == 1; }));
  barrier.abort();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 3);
  EXPECT_TRUE(barrier.broken());
  barrier.reset();
  // Usable again.
  auto q = ctx().Process([](mp::Barrier barrier) { barrier.wait(20s); }, barrier);
  q.start();
  barrier.wait(20s);
  join_ok(q);
}

TEST_P(SyncMethodTest, ResetWithWaitersBreaksOnlyThem) {
  mp::Barrier barrier(2);
  auto p = ctx().Process(
      [](mp::Barrier barrier) {
        try {
          barrier.wait(20s);
        } catch (const mp::BrokenBarrierError&) {
          std::exit(4);
        }
      },
      barrier);
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
