// tests/biased_lock_test.cpp — the queue locks' bias (src/shm/biased_lock.hpp): granted to a
// steady user, revoked without breaking mutual exclusion, recovered from a holder killed inside.
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "mp/process.hpp"
#include "mp/synchronize.hpp"
#include "shm/biased_lock.hpp"
#include "support/children.hpp"
#include "support/leak_check.hpp"
#include "support/shared_block.hpp"
#include "sys/futex.hpp"
#include "sys/thread_id.hpp"

namespace {

using mp::testing::join_ok;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using mp::shm::BiasedLockState;
using mp::shm::Entry;

class BiasedLockTest : public mp::testing::LeakCheckedTest {};

// The lock and what it protects, in memory shared with forked children.
struct Shared {
  BiasedLockState lock;
  long counter;                 // plain: only the lock protects it
  std::atomic<int> inside;      // threads inside at once, which must never exceed one
  std::atomic<int> violations;  // times it did
  std::atomic<long> biased;     // entries that took the fast path
};

using SharedBlock = mp::testing::SharedBlock<Shared>;

std::uint32_t me() {
  return static_cast<std::uint32_t>(mp::sys::this_tid());
}

// Enters (no deadline), bumps the counter with an exclusivity check, leaves.
void bump(Shared& s) {
  bool recovered = false;
  const Entry e = mp::shm::biased_enter(s.lock, me(), mp::sys::Deadline::never(), recovered);
  if (s.inside.fetch_add(1) != 0) s.violations.fetch_add(1);
  if (e == Entry::biased) s.biased.fetch_add(1, std::memory_order_relaxed);
  // A read, some work, then the write: a second thread inside would lose an update.
  const long c = s.counter;
  for (int i = 0; i < 20; ++i) mp::sys::cpu_relax();
  s.counter = c + 1;
  s.inside.fetch_sub(1);
  mp::shm::biased_leave(s.lock, e, me());
}

// Takes the lock until this thread holds the bias (false if it never comes).
bool earn_bias(Shared& s) {
  for (int i = 0; i < 10000; ++i) {
    bump(s);
    if (s.lock.bias.load() == me()) return true;
  }
  return false;
}

TEST_F(BiasedLockTest, SteadyUserEntersWithoutTheLock) {
  SharedBlock b;
  Shared& s = *b.get();
  ASSERT_TRUE(earn_bias(s)) << "a steady user never earned the bias";
  const long before = s.biased.load();
  for (int i = 0; i < 1000; ++i) bump(s);
  EXPECT_EQ(s.biased.load() - before, 1000);
  EXPECT_EQ(mp::shm::lock_owner(s.lock.lock), 0u) << "the robust lock stays free";
}

TEST_F(BiasedLockTest, RevocationKeepsMutualExclusionAcrossProcesses) {
  SharedBlock b;
  Shared& s = *b.get();
  constexpr int kProcs = 3, kRounds = 200, kStreak = 300;
  // A barrier between rounds: every round, each process's streak (long enough to earn the bias)
  // meets a bias that another live process may hold, whatever the scheduler does.
  mp::Barrier round(kProcs);
  std::vector<mp::Process> ps;
  for (int i = 0; i < kProcs; ++i) {
    ps.emplace_back([&s, round]() mutable {
      for (int r = 0; r < kRounds; ++r) {
        round.wait(30s);
        for (int k = 0; k < kStreak; ++k) bump(s);
      }
    });
  }
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(s.violations.load(), 0);
  EXPECT_EQ(s.counter, long{kProcs} * kRounds * kStreak);
  EXPECT_GT(s.biased.load(), 0) << "no entry took the fast path";
  EXPECT_GT(s.lock.revocations, 0u) << "no bias was ever revoked";
}

TEST_F(BiasedLockTest, RevocationKeepsMutualExclusionAcrossThreads) {
  SharedBlock b;
  Shared& s = *b.get();
  constexpr int kThreads = 4, kRounds = 100, kStreak = 300;
  std::vector<std::thread> ts;
  for (int i = 0; i < kThreads; ++i) {
    ts.emplace_back([&s] {
      for (int r = 0; r < kRounds; ++r) {
        for (int k = 0; k < kStreak; ++k) bump(s);
        std::this_thread::yield();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(s.violations.load(), 0);
  EXPECT_EQ(s.counter, long{kThreads} * kRounds * kStreak);
}

// A child that earns the bias, enters biased and stays inside; returned once it is inside (a
// Process that was never started, pid 0, if it did not get there in time).
mp::Process start_biased_holder(Shared& s) {
  mp::Event inside;
  mp::Process p([&s, inside]() mutable {
    if (!earn_bias(s)) std::_Exit(3);
    bool recovered = false;
    const Entry e = mp::shm::biased_enter(s.lock, me(), mp::sys::Deadline::never(), recovered);
    if (e != Entry::biased) std::_Exit(4);
    inside.set();
    for (;;) std::this_thread::sleep_for(1s);
  });
  p.start();
  if (!inside.wait_for(20s)) {
    p.kill();
    p.join(10s);
    return mp::Process([] {});
  }
  return p;
}

// A thread that read the bias as its own and was then delayed (preempted) while the bias was
// revoked and granted to another, which is now inside: when it resumes, its fast path must fail
// without hiding the holder from the next revoker. It once overwrote the holder's busy mark, so
// the next revoker saw nobody inside and entered beside it.
TEST_F(BiasedLockTest, AStaleBiasHolderDoesNotHideTheHolderInside) {
  SharedBlock b;
  Shared& s = *b.get();
  mp::Process p = start_biased_holder(s);
  ASSERT_TRUE(p.pid() != 0) << "the child never held the bias";
  // This thread resumes its fast path with a stale read of `bias`.
  EXPECT_FALSE(mp::shm::biased_try_enter(s.lock, me())) << "entered beside the holder";
  // The next revoker must still find the holder inside and wait for it.
  std::atomic<int> entered{-1};
  std::thread revoker([&s, &entered] {
    bool recovered = false;
    const Entry e = mp::shm::biased_enter(
        s.lock, me(), mp::sys::Deadline::after(std::chrono::nanoseconds(300ms)), recovered);
    entered = e == Entry::none ? 0 : 1;
    if (e != Entry::none) mp::shm::biased_leave(s.lock, e, me());
  });
  revoker.join();
  EXPECT_EQ(entered.load(), 0) << "a revoker entered while the bias holder was inside";
  p.kill();
  ASSERT_TRUE(p.join(10s));
}

TEST_F(BiasedLockTest, HolderKilledInsideIsRecovered) {
  SharedBlock b;
  Shared& s = *b.get();
  mp::Process p = start_biased_holder(s);
  ASSERT_TRUE(p.pid() != 0) << "the child never held the bias";
  p.kill();
  // Recovered within the deadline: the dead holder is noticed, not waited out (nor reaped: the
  // join comes afterwards).
  bool recovered = false;
  const Entry e = mp::shm::biased_enter(
      s.lock, me(), mp::sys::Deadline::after(std::chrono::nanoseconds(5s)), recovered);
  EXPECT_EQ(e, Entry::locked);
  EXPECT_TRUE(recovered);
  EXPECT_EQ(s.lock.lock.deaths.load(), 1u);
  EXPECT_EQ(s.lock.bias.load(), 0u);
  mp::shm::biased_leave(s.lock, e, me());
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), -SIGKILL) << "3: no bias earned, 4: not entered biased";
}

// Survivors that only poll briefly (a consumer's try_get of a few milliseconds) still take over
// from a holder killed inside: the dead holder is noticed when a short deadline passes, not only
// after a long wait.
TEST_F(BiasedLockTest, HolderKilledInsideIsRecoveredByShortPolls) {
  SharedBlock b;
  Shared& s = *b.get();
  mp::Process p = start_biased_holder(s);
  ASSERT_TRUE(p.pid() != 0) << "the child never held the bias";
  p.kill();
  // Until the kill has landed a poll may time out; after it, one poll must be enough.
  Entry e = Entry::none;
  bool recovered = false;
  const auto end = Clock::now() + 10s;
  while (e == Entry::none && Clock::now() < end) {
    e = mp::shm::biased_enter(s.lock, me(), mp::sys::Deadline::after(std::chrono::nanoseconds(2ms)),
                              recovered);
  }
  ASSERT_EQ(e, Entry::locked) << "2 ms polls never took over from the dead holder";
  EXPECT_TRUE(recovered);
  EXPECT_EQ(s.lock.lock.deaths.load(), 1u);
  mp::shm::biased_leave(s.lock, e, me());
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), -SIGKILL) << "3: no bias earned, 4: not entered biased";
}

TEST_F(BiasedLockTest, AnExitedHolderDoesNotMakeTheNextBiasDearer) {
  SharedBlock b;
  Shared& s = *b.get();
  mp::Process p([&s] { std::_Exit(earn_bias(s) ? 0 : 3); });
  p.start();
  join_ok(p);
  ASSERT_NE(s.lock.bias.load(), 0u);
  bump(s);  // revokes the dead child's bias
  EXPECT_EQ(s.lock.revocations, 0u);
  EXPECT_EQ(s.lock.lock.deaths.load(), 0u) << "it died outside: nothing to recover";
  EXPECT_TRUE(earn_bias(s));
}

TEST_F(BiasedLockTest, RevokerTimesOutWhileTheHolderStaysInside) {
  SharedBlock b;
  Shared& s = *b.get();
  mp::Event inside, release;
  mp::Process p([&s, inside, release]() mutable {
    if (!earn_bias(s)) std::_Exit(3);
    bool recovered = false;
    const Entry e = mp::shm::biased_enter(s.lock, me(), mp::sys::Deadline::never(), recovered);
    if (e != Entry::biased) std::_Exit(4);
    inside.set();
    release.wait_for(30s);
    mp::shm::biased_leave(s.lock, e, me());
    std::_Exit(0);
  });
  p.start();
  ASSERT_TRUE(inside.wait_for(20s)) << "the child never held the bias";
  const auto t0 = Clock::now();
  bool recovered = false;
  EXPECT_EQ(mp::shm::biased_enter(
                s.lock, me(), mp::sys::Deadline::after(std::chrono::nanoseconds(100ms)), recovered),
            Entry::none);
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 99ms);
  EXPECT_LT(took, 100ms + 2s);  // generous: a loaded machine may not run us for a while
  EXPECT_EQ(mp::shm::lock_owner(s.lock.lock), 0u) << "a revoker that gives up frees the lock";
  release.set();
  join_ok(p);
  bump(s);  // the child left normally: now the revocation goes through
  EXPECT_EQ(s.violations.load(), 0);
}

}  // namespace
