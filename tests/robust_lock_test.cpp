// tests/robust_lock_test.cpp — the lock word under Lock and RLock (src/shm/robust_lock.hpp): a
// holder that dies while others sleep on it, and what a poll leaves behind.
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "mp/process.hpp"
#include "mp/synchronize.hpp"
#include "shm/robust_lock.hpp"
#include "support/children.hpp"
#include "support/leak_check.hpp"
#include "support/shared_block.hpp"
#include "sys/futex.hpp"
#include "sys/thread_id.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using mp::shm::Acquired;
using mp::shm::LockState;
using mp::testing::join_ok;

class RobustLockTest : public mp::testing::LeakCheckedTest {};

// The lock and what its waiters report, in memory shared with forked children.
struct Shared {
  LockState lock;
  std::atomic<int> inside;      // processes inside at once, which must never exceed one
  std::atomic<int> violations;  // times it did
  std::atomic<int> entered;     // acquisitions that returned yes
  std::atomic<int> recovered;   // acquisitions that took over from a dead owner
  std::atomic<int> timed_out;   // acquisitions that gave up
};

using SharedBlock = mp::testing::SharedBlock<Shared>;

std::uint32_t me() {
  return static_cast<std::uint32_t>(mp::sys::this_tid());
}

mp::sys::Deadline after(std::chrono::nanoseconds d) {
  return mp::sys::Deadline::after(d);
}

// Polls `cond` until it holds or `limit` passes.
template <class F>
bool eventually(F cond, std::chrono::seconds limit) {
  const auto end = Clock::now() + limit;
  while (!cond()) {
    if (Clock::now() >= end) return false;
    std::this_thread::yield();
  }
  return true;
}

// Waiters asleep on the lock when its holder is killed: exactly one of them takes it over (and
// is told so), and the wake-ups its release starts bring every other waiter in, each within its
// bounded wait.
TEST_F(RobustLockTest, OwnerKilledWhileWaitersSleepLetsEveryWaiterIn) {
  SharedBlock b;
  Shared& s = *b.get();
  mp::Event held;
  mp::Process holder([&s, held]() mutable {
    if (mp::shm::lock_acquire(s.lock, me(), mp::sys::Deadline::never()) != Acquired::yes) {
      std::_Exit(3);
    }
    held.set();
    for (;;) std::this_thread::sleep_for(1s);
  });
  holder.start();
  ASSERT_TRUE(held.wait_for(20s)) << "the holder never took the lock";

  constexpr int kWaiters = 3;
  std::vector<mp::Process> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&s] {
      const Acquired a = mp::shm::lock_acquire(s.lock, me(), after(20s));
      if (a == Acquired::timed_out) {
        s.timed_out.fetch_add(1);
        return;
      }
      (a == Acquired::recovered ? s.recovered : s.entered).fetch_add(1);
      if (s.inside.fetch_add(1) != 0) s.violations.fetch_add(1);
      for (int k = 0; k < 1000; ++k) mp::sys::cpu_relax();
      s.inside.fetch_sub(1);
      mp::shm::lock_release(s.lock);
    });
  }
  for (auto& w : waiters) w.start();
  // All three past their spin, counted as sleepers, the waiters bit set: the kill finds them in
  // the sleeping part of the protocol, not racing the holder.
  const bool asleep = eventually(
      [&] {
        return s.lock.sleepers.load() == kWaiters && (s.lock.word.load() & mp::shm::kWaiters) != 0;
      },
      20s);
  EXPECT_TRUE(asleep) << "the waiters never went to sleep";
  holder.kill();
  for (auto& w : waiters) join_ok(w);
  ASSERT_TRUE(holder.join(10s));
  EXPECT_EQ(holder.exitcode(), -SIGKILL) << "3: the holder could not take the free lock";
  EXPECT_EQ(s.timed_out.load(), 0);
  EXPECT_EQ(s.recovered.load(), 1) << "exactly one waiter takes over from the dead holder";
  EXPECT_EQ(s.entered.load(), kWaiters - 1);
  EXPECT_EQ(s.violations.load(), 0);
  EXPECT_EQ(s.lock.deaths.load(), 1u);
  EXPECT_EQ(s.lock.word.load(), 0u) << "free at the end, without a stale waiters bit";
  EXPECT_EQ(s.lock.sleepers.load(), 0u);
}

// A poll of a held lock (try_lock, acquire(false)) gives up at once and leaves the word as it
// was: no waiters bit, so the holder's release makes no futex call for it.
TEST_F(RobustLockTest, APollOfAHeldLockLeavesNoWaitersBit) {
  SharedBlock b;
  Shared& s = *b.get();
  constexpr std::uint32_t kOther = 1;  // a holder that is not this thread; never checked alive
  ASSERT_TRUE(mp::shm::lock_try(s.lock, kOther));
  const auto start = Clock::now();
  EXPECT_EQ(mp::shm::lock_acquire(s.lock, me(), after(0ns)), Acquired::timed_out);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(s.lock.word.load(), kOther);
  EXPECT_EQ(s.lock.sleepers.load(), 0u);
  mp::shm::lock_release(s.lock);
}

// Two processes taking turns many times: every increment lands (no one enters beside the
// holder, whether it got in spinning or after sleeping) and nobody is left waiting.
TEST_F(RobustLockTest, ContendedIncrementsAllLand) {
  SharedBlock b;
  Shared& s = *b.get();
  constexpr int kProcs = 2, kOps = 50000;
  std::vector<mp::Process> ps;
  for (int i = 0; i < kProcs; ++i) {
    ps.emplace_back([&s] {
      for (int k = 0; k < kOps; ++k) {
        if (mp::shm::lock_acquire(s.lock, me(), after(20s)) == Acquired::timed_out) {
          s.timed_out.fetch_add(1);
          return;
        }
        if (s.inside.fetch_add(1) != 0) s.violations.fetch_add(1);
        s.entered.store(s.entered.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        s.inside.fetch_sub(1);
        mp::shm::lock_release(s.lock);
      }
    });
  }
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(s.timed_out.load(), 0);
  EXPECT_EQ(s.violations.load(), 0);
  EXPECT_EQ(s.entered.load(), kProcs * kOps);
  EXPECT_EQ(s.lock.word.load(), 0u);
  EXPECT_EQ(s.lock.sleepers.load(), 0u);
}

}  // namespace
