// tests/chaos/sync_chaos_test.cpp — Lock, RLock, Semaphore, Condition, Event and Barrier with a
// holder or waiter SIGKILLed inside an operation. Afterwards: the survivors finished (a dead
// holder's lock is taken over), mutual exclusion held, and the counts the objects protect are
// exact but for the one operation the victim may have been in the middle of.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "chaos/chaos.hpp"
#include "mp/process.hpp"
#include "mp/synchronize.hpp"
#include "support/leak_check.hpp"

namespace mp::chaos {
namespace {

class SyncChaos : public mp::testing::LeakCheckedTest {};

// A few pauses between reading and writing a counter: a second holder inside would lose updates.
void dawdle() noexcept {
  for (int i = 0; i < 20; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
}

// Marks "process i is inside the critical section"; entries that find another process inside
// and exits that find someone else's mark are what a broken mutual exclusion leaves.
struct Exclusion {
  std::atomic<std::uint32_t> inside;           // index + 1 of the process inside, 0 if none
  std::atomic<std::uint32_t> entered_over[8];  // entries that found process j's mark left
  std::atomic<std::uint32_t> overlap;          // exits that found another process's mark

  void enter(int i) noexcept {
    const std::uint32_t prev = inside.exchange(static_cast<std::uint32_t>(i + 1));
    if (prev != 0) entered_over[prev - 1].fetch_add(1);
  }
  void leave(int i) noexcept {
    std::uint32_t expected = static_cast<std::uint32_t>(i + 1);
    if (!inside.compare_exchange_strong(expected, 0)) overlap.fetch_add(1);
  }
  // Only a dead victim may leave its mark behind, once.
  void check(Iteration& it, int victim, int n) {
    it.check(overlap.load() == 0, "two live processes inside the critical section at once");
    for (int j = 0; j < n; ++j) {
      const std::uint32_t e = entered_over[j].load();
      it.check(j == victim ? e <= 1 : e == 0,
               "process " + std::to_string(j) + "'s critical section was entered " +
                   std::to_string(e) + " time(s) while it was inside" +
                   (j == victim ? " (the victim may leave it once)" : " (it was alive)"));
    }
  }
};

// --- Lock and RLock: a counter incremented non-atomically under the lock ------------------------

constexpr int kLockWorkers = 3;

struct LockBoard {
  std::atomic<std::uint64_t> acked[kLockWorkers];
  std::atomic<std::uint32_t> holding[kLockWorkers];  // between acquire's return and release
  std::atomic<std::uint64_t> counter;
  std::atomic<std::uint32_t> stop;  // set after the kill: workers end once past kOps
  Exclusion ex;
  ChildErrors errors;
};

template <class L>
void run_lock_iteration(const std::string& op, int index) {
  constexpr bool kRecursive = std::is_same_v<L, mp::RLock>;
  Iteration it(op, index);
  Rng rng(op, index);
  constexpr std::uint64_t kOps = 2000;
  Shared<LockBoard> board;
  LockBoard* b = board.get();
  L lock;
  std::vector<mp::Process> workers;
  for (int i = 0; i < kLockWorkers; ++i) {
    workers.emplace_back([b, lock, i]() mutable {
      for (std::uint64_t s = 0; s < kOps || b->stop.load() == 0; ++s) {
        if (!lock.acquire(std::chrono::seconds(10))) {
          b->errors.report("acquire timed out after 10 s");
          return;
        }
        if constexpr (kRecursive) lock.acquire();  // re-entered: returns at once
        b->holding[i].store(1);
        b->ex.enter(i);
        const std::uint64_t c = b->counter.load(std::memory_order_relaxed);
        dawdle();
        b->counter.store(c + 1, std::memory_order_relaxed);
        b->ex.leave(i);
        b->holding[i].store(0);
        if constexpr (kRecursive) lock.release();
        lock.release();
        b->acked[i].store(s + 1);
      }
    });
  }
  for (auto& w : workers) w.start();
  const int victim = static_cast<int>(rng.below(kLockWorkers));
  const std::uint64_t target = rng.below(kOps * 3 / 4);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  bool landed = kill_when(
      workers[victim], [&] { return b->acked[victim].load() >= target; }, delay, 20s);
  it.check(join_bounded(workers[victim], 10s), "the victim did not end after SIGKILL");
  landed = landed && workers[victim].exitcode() == -9;
  if (landed) it.killed();
  b->stop.store(1);
  it.note("worker " + std::to_string(victim) + (landed ? " killed" : " not killed") + " after " +
          std::to_string(delay) + " us at op " + std::to_string(b->acked[victim].load()) +
          (b->holding[victim].load() ? ", holding the lock" : ""));
  for (int i = 0; i < kLockWorkers; ++i) {
    if (i == victim) continue;
    it.check(join_bounded(workers[i], child_timeout()), "a survivor hung");
    it.check(workers[i].exitcode() == 0 && b->acked[i].load() >= kOps,
             "a survivor did not finish its " + std::to_string(kOps) + " increments");
  }
  it.check(b->errors.count.load() == 0, b->errors.first());
  const bool held = b->holding[victim].load() == 1;
  it.check(lock.acquire(5s), "the parent could not acquire the lock after the victim died");
  if (lock.is_owned()) lock.release();
  const std::uint32_t deaths = lock.owner_deaths();
  it.check(deaths <= (landed ? 1u : 0u),
           "owner_deaths() is " + std::to_string(deaths) + " with one victim");
  it.check(!(landed && held) || deaths == 1,
           "the victim died holding the lock but owner_deaths() is " + std::to_string(deaths));
  b->ex.check(it, landed ? victim : -1, kLockWorkers);
  std::uint64_t sum = 0;
  for (auto& a : b->acked) sum += a.load();
  const std::uint64_t counter = b->counter.load();
  it.check(counter >= sum && counter <= sum + (landed ? 1 : 0),
           "the protected counter is " + std::to_string(counter) + " after " + std::to_string(sum) +
               " acknowledged increments");
}

TEST_F(SyncChaos, Lock) {
  for (int i = 0; i < iterations(); ++i) run_lock_iteration<mp::Lock>("Lock acquire/release", i);
}

TEST_F(SyncChaos, RLock) {
  for (int i = 0; i < iterations(); ++i) {
    run_lock_iteration<mp::RLock>("RLock acquire/release (nested)", i);
  }
}

// --- Semaphore: never more holders than permits; a dead holder's permit stays taken -------------

constexpr int kSemWorkers = 4;
constexpr unsigned kPermits = 2;

struct SemBoard {
  std::atomic<std::uint64_t> acked[kSemWorkers];
  std::atomic<std::uint32_t> holding[kSemWorkers];
  std::atomic<std::uint32_t> in_use;
  std::atomic<std::uint32_t> over;
  std::atomic<std::uint32_t> stop;
  ChildErrors errors;
};

void run_semaphore_iteration(int index) {
  const std::string op = "Semaphore acquire/release";
  Iteration it(op, index);
  Rng rng(op, index);
  constexpr std::uint64_t kOps = 1500;
  Shared<SemBoard> board;
  SemBoard* b = board.get();
  mp::Semaphore sem(kPermits);
  std::vector<mp::Process> workers;
  for (int i = 0; i < kSemWorkers; ++i) {
    workers.emplace_back([b, sem, i]() mutable {
      for (std::uint64_t s = 0; s < kOps || b->stop.load() == 0; ++s) {
        if (!sem.acquire(std::chrono::seconds(10))) {
          b->errors.report("acquire timed out after 10 s");
          return;
        }
        b->holding[i].store(1);
        if (b->in_use.fetch_add(1) + 1 > kPermits) b->over.fetch_add(1);
        dawdle();
        b->in_use.fetch_sub(1);
        b->holding[i].store(0);
        sem.release();
        b->acked[i].store(s + 1);
      }
    });
  }
  for (auto& w : workers) w.start();
  const int victim = static_cast<int>(rng.below(kSemWorkers));
  const std::uint64_t target = rng.below(kOps * 3 / 4);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  bool landed = kill_when(
      workers[victim], [&] { return b->acked[victim].load() >= target; }, delay, 20s);
  it.check(join_bounded(workers[victim], 10s), "the victim did not end after SIGKILL");
  landed = landed && workers[victim].exitcode() == -9;
  if (landed) it.killed();
  b->stop.store(1);
  it.note("worker " + std::to_string(victim) + (landed ? " killed" : " not killed") + " after " +
          std::to_string(delay) + " us at op " + std::to_string(b->acked[victim].load()) +
          (b->holding[victim].load() ? ", holding a permit" : ""));
  for (int i = 0; i < kSemWorkers; ++i) {
    if (i == victim) continue;
    it.check(join_bounded(workers[i], child_timeout()), "a survivor hung");
    it.check(workers[i].exitcode() == 0 && b->acked[i].load() >= kOps, "a survivor did not finish");
  }
  it.check(b->errors.count.load() == 0, b->errors.first());
  it.check(b->over.load() == 0, "more holders than permits at once");
  // A semaphore has no owner (as in Python): a holder's death keeps its permit.
  const unsigned value = sem.get_value();
  const bool held = b->holding[victim].load() == 1;
  it.check(value == kPermits || (landed && value == kPermits - 1),
           "get_value() is " + std::to_string(value) + " after the run");
  it.check(!(landed && held) || value == kPermits - 1,
           "the victim died holding a permit but get_value() is " + std::to_string(value));
}

TEST_F(SyncChaos, Semaphore) {
  for (int i = 0; i < iterations(); ++i) run_semaphore_iteration(i);
}

// --- Condition: tokens produced and consumed under the condition's lock -------------------------

constexpr int kCondProducers = 2;
constexpr int kCondConsumers = 2;

struct CondBoard {
  std::atomic<std::uint64_t> produced[kCondProducers];
  std::atomic<std::uint64_t> consumed[kCondConsumers];
  std::atomic<std::int64_t> tokens;  // under the lock
  std::atomic<std::uint32_t> stop;
  std::atomic<std::uint32_t> stop_producing;  // the victim is dead: producers may end
  std::atomic<std::uint32_t> slept_through;   // timed-out waits that found a token
  Exclusion ex;
  ChildErrors errors;
};

void run_condition_iteration(int index) {
  const std::string op = "Condition wait/notify";
  Iteration it(op, index);
  Rng rng(op, index);
  constexpr std::uint64_t kTokens = 1500;
  Shared<CondBoard> board;
  CondBoard* b = board.get();
  mp::Condition cond;
  std::vector<mp::Process> procs;  // producers, then consumers
  for (int i = 0; i < kCondProducers; ++i) {
    procs.emplace_back([b, cond, i]() mutable {
      for (std::uint64_t s = 0; s < kTokens || b->stop_producing.load() == 0; ++s) {
        if (!cond.acquire(std::chrono::seconds(10))) {
          b->errors.report("producer: acquire timed out");
          return;
        }
        b->ex.enter(i);
        b->tokens.store(b->tokens.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        cond.notify();
        b->ex.leave(i);
        cond.release();
        b->produced[i].store(s + 1);
      }
    });
  }
  for (int j = 0; j < kCondConsumers; ++j) {
    const int me = kCondProducers + j;
    procs.emplace_back([b, cond, j, me]() mutable {
      for (;;) {
        if (!cond.acquire(std::chrono::seconds(10))) {
          b->errors.report("consumer: acquire timed out");
          return;
        }
        b->ex.enter(me);
        bool got = false;
        for (;;) {
          const std::int64_t t = b->tokens.load(std::memory_order_relaxed);
          if (t > 0) {
            b->tokens.store(t - 1, std::memory_order_relaxed);
            got = true;
            break;
          }
          if (b->stop.load() != 0) break;
          b->ex.leave(me);
          const bool notified = cond.wait_for(std::chrono::seconds(2));
          b->ex.enter(me);
          if (!notified && b->tokens.load() > 0) b->slept_through.fetch_add(1);
        }
        b->ex.leave(me);
        cond.release();
        if (!got) return;
        b->consumed[j].fetch_add(1);
      }
    });
  }
  for (auto& p : procs) p.start();
  const int victim = static_cast<int>(rng.below(kCondProducers + kCondConsumers));
  const bool victim_produces = victim < kCondProducers;
  const std::uint64_t target =
      victim_produces ? rng.below(kTokens * 3 / 4) : rng.below(kTokens * kCondProducers / 4);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  bool landed = kill_when(
      procs[victim],
      [&] {
        if (victim_produces) return b->produced[victim].load() >= target;
        // A consumer may never get `target` tokens: the other one may take them.
        return b->consumed[victim - kCondProducers].load() >= target;
      },
      delay, 20s);
  it.check(join_bounded(procs[victim], 10s), "the victim did not end after SIGKILL");
  landed = landed && procs[victim].exitcode() == -9;
  if (landed) it.killed();
  b->stop_producing.store(1);
  it.note((victim_produces ? "producer " : "consumer ") + std::to_string(victim) +
          (landed ? " killed" : " not killed") + " after " + std::to_string(delay) + " us");
  for (int i = 0; i < kCondProducers; ++i) {
    if (i == victim) continue;
    it.check(join_bounded(procs[i], child_timeout()), "a surviving producer hung");
    it.check(procs[i].exitcode() == 0 && b->produced[i].load() >= kTokens,
             "a surviving producer did not finish");
  }
  b->stop.store(1);
  if (it.check(cond.acquire(5s), "the parent could not acquire the condition's lock")) {
    cond.notify_all();
    cond.release();
  }
  for (int i = kCondProducers; i < kCondProducers + kCondConsumers; ++i) {
    if (i == victim) continue;
    it.check(join_bounded(procs[i], child_timeout()), "a surviving consumer hung");
    it.check(procs[i].exitcode() == 0, "a surviving consumer failed");
  }
  it.check(b->errors.count.load() == 0, b->errors.first());
  it.check(b->slept_through.load() == 0,
           std::to_string(b->slept_through.load()) + " wait(s) slept 2 s through a notify");
  b->ex.check(it, landed ? victim : -1, kCondProducers + kCondConsumers);
  std::int64_t expected = 0;
  for (auto& p : b->produced) expected += static_cast<std::int64_t>(p.load());
  for (auto& c : b->consumed) expected -= static_cast<std::int64_t>(c.load());
  const std::int64_t tokens = b->tokens.load();
  const std::int64_t slack = tokens - expected;  // the victim's unacknowledged operation
  const bool ok = slack == 0 || (landed && (victim_produces ? slack == 1 : slack == -1));
  it.check(ok, "tokens left: " + std::to_string(tokens) +
                   ", acknowledged produced - consumed: " + std::to_string(expected));
  it.check(tokens == 0,
           "tokens left over after the consumers drained them: " + std::to_string(tokens));
}

TEST_F(SyncChaos, Condition) {
  for (int i = 0; i < iterations(); ++i) run_condition_iteration(i);
}

// --- Event: a toggler and waiters; after the kill, set() wakes every survivor -------------------

constexpr int kEventWaiters = 3;

struct EventBoard {
  std::atomic<std::uint64_t> ops[1 + kEventWaiters];  // [0]: the toggler's set/clear pairs
  std::atomic<std::uint32_t> stop_toggler;
  std::atomic<std::uint32_t> final_set;
  std::atomic<std::uint32_t> stop;
  std::atomic<std::uint32_t> misses;  // timed-out waits after the final set()
  ChildErrors errors;
};

void run_event_iteration(int index) {
  const std::string op = "Event set/clear/wait";
  Iteration it(op, index);
  Rng rng(op, index);
  Shared<EventBoard> board;
  EventBoard* b = board.get();
  mp::Event ev;
  std::vector<mp::Process> procs;
  procs.emplace_back([b, ev]() mutable {
    while (b->stop_toggler.load() == 0) {
      ev.set();
      for (int i = 0; i < 200; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
      ev.clear();
      b->ops[0].fetch_add(1);
    }
  });
  for (int w = 1; w <= kEventWaiters; ++w) {
    procs.emplace_back([b, ev, w]() mutable {
      while (b->stop.load() == 0) {
        const bool final_set = b->final_set.load() != 0;
        if (!ev.wait_for(std::chrono::seconds(3)) && final_set) b->misses.fetch_add(1);
        b->ops[w].fetch_add(1);
      }
    });
  }
  for (auto& p : procs) p.start();
  const int victim = static_cast<int>(rng.below(1 + kEventWaiters));
  const std::uint64_t target = rng.below(victim == 0 ? 3000 : 300);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  bool landed = kill_when(
      procs[victim], [&] { return b->ops[victim].load() >= target; }, delay, 20s);
  it.check(join_bounded(procs[victim], 10s), "the victim did not end after SIGKILL");
  landed = landed && procs[victim].exitcode() == -9;
  if (landed) it.killed();
  it.note((victim == 0 ? std::string("the toggler") : "waiter " + std::to_string(victim)) +
          (landed ? " killed" : " not killed") + " after " + std::to_string(delay) + " us");
  b->stop_toggler.store(1);
  if (victim != 0) {
    it.check(join_bounded(procs[0], child_timeout()), "the toggler hung");
    it.check(procs[0].exitcode() == 0, "the toggler failed");
  }
  // Every surviving waiter must now get through wait() at once, again and again.
  b->final_set.store(1);
  ev.set();
  std::uint64_t before[1 + kEventWaiters];
  for (int w = 1; w <= kEventWaiters; ++w) before[w] = b->ops[w].load();
  const auto end = Clock::now() + 5s;
  for (int w = 1; w <= kEventWaiters; ++w) {
    if (w == victim) continue;
    while (b->ops[w].load() < before[w] + 2 && Clock::now() < end) yield_now();
    it.check(b->ops[w].load() >= before[w] + 2,
             "waiter " + std::to_string(w) + " did not wake within 5 s of set()");
  }
  b->stop.store(1);
  for (int w = 1; w <= kEventWaiters; ++w) {
    if (w == victim) continue;
    it.check(join_bounded(procs[w], child_timeout()), "a surviving waiter hung");
    it.check(procs[w].exitcode() == 0, "a surviving waiter failed");
  }
  it.check(b->misses.load() == 0, "a wait timed out although the event was set");
  it.check(ev.is_set(), "the event is not set after set()");
  it.check(b->errors.count.load() == 0, b->errors.first());
}

TEST_F(SyncChaos, Event) {
  for (int i = 0; i < iterations(); ++i) run_event_iteration(i);
}

// --- Barrier: parties pass rounds together; a dead party breaks it for the others ---------------

constexpr int kParties = 3;
constexpr int kRounds = 4000;  // far more than the victim gets through before its kill

struct BarrierBoard {
  std::atomic<std::uint32_t> rounds[kParties];             // barrier waits that returned
  std::atomic<std::uint32_t> arrivals[kRounds][kParties];  // per round: each index's count
  std::atomic<std::uint32_t> broken_seen[kParties];
  ChildErrors errors;
};

void run_barrier_iteration(int index) {
  const std::string op = "Barrier wait";
  Iteration it(op, index);
  Rng rng(op, index);
  Shared<BarrierBoard> board;
  BarrierBoard* b = board.get();
  // Either the parent aborts the barrier once it sees the victim dead, or the survivors' own
  // timeout breaks it.
  const bool by_abort = rng.chance(50);
  const auto timeout =
      by_abort ? std::chrono::milliseconds(20000)
               : (sanitized() ? std::chrono::milliseconds(2000) : std::chrono::milliseconds(500));
  mp::Barrier barrier(kParties, nullptr, timeout);
  std::vector<mp::Process> parties;
  for (int i = 0; i < kParties; ++i) {
    parties.emplace_back([b, barrier, i]() mutable {
      try {
        for (int r = 0; r < kRounds; ++r) {
          const std::size_t idx = barrier.wait();
          if (idx >= kParties) {
            b->errors.report("arrival index " + std::to_string(idx));
            return;
          }
          b->arrivals[r][idx].fetch_add(1);
          b->rounds[i].store(static_cast<std::uint32_t>(r + 1));
        }
      } catch (const mp::BrokenBarrierError&) {
        b->broken_seen[i].store(1);
      } catch (const std::exception& e) {
        b->errors.report(e.what());
      }
    });
  }
  for (auto& p : parties) p.start();
  const int victim = static_cast<int>(rng.below(kParties));
  const std::uint64_t target = rng.below(300);
  const unsigned delay = static_cast<unsigned>(rng.below(201));
  bool landed = kill_when(
      parties[victim], [&] { return b->rounds[victim].load() >= target; }, delay, 20s);
  it.check(join_bounded(parties[victim], 10s), "the victim did not end after SIGKILL");
  landed = landed && parties[victim].exitcode() == -9;
  if (landed) it.killed();
  it.note("party " + std::to_string(victim) + (landed ? " killed" : " not killed") + " after " +
          std::to_string(delay) + " us in round " + std::to_string(b->rounds[victim].load()) +
          (by_abort ? ", then abort()" : ", the survivors' timeout breaks it"));
  if (by_abort) barrier.abort();
  for (int i = 0; i < kParties; ++i) {
    if (i == victim) continue;
    it.check(join_bounded(parties[i], child_timeout()), "a surviving party hung");
    it.check(parties[i].exitcode() == 0, "a surviving party failed");
    if (landed) {
      it.check(b->broken_seen[i].load() == 1,
               "a survivor did not see BrokenBarrierError after a party died");
    }
  }
  it.check(b->errors.count.load() == 0, b->errors.first());
  // The survivors passed the same rounds: those the victim passed too (its last one maybe
  // unrecorded).
  const int other = victim == 0 ? 1 : 0;
  const std::uint32_t passed = b->rounds[other].load();
  const std::uint32_t victim_rounds = b->rounds[victim].load();
  for (int i = 0; i < kParties; ++i) {
    if (i == victim) continue;
    it.check(b->rounds[i].load() == passed, "survivors passed different numbers of rounds");
  }
  if (landed) {
    it.check(passed == victim_rounds || passed == victim_rounds + 1,
             "survivors passed " + std::to_string(passed) + " rounds, the victim " +
                 std::to_string(victim_rounds));
  }
  for (std::uint32_t r = 0; r < passed && r < kRounds; ++r) {
    std::uint32_t total = 0;
    bool each_once = true;
    for (int k = 0; k < kParties; ++k) {
      const std::uint32_t n = b->arrivals[r][k].load();
      total += n;
      each_once = each_once && n <= 1;
    }
    const bool ok = each_once && (total == kParties || (r == victim_rounds && total == 2));
    if (!it.check(ok, "round " + std::to_string(r) + ": arrival indices not a permutation")) break;
  }
  if (landed || passed < kRounds) {
    it.check(barrier.broken(), "the barrier is not broken after a party died");
  }
  barrier.reset();
  it.check(!barrier.broken() && barrier.n_waiting() == 0, "reset() did not restore the barrier");
}

TEST_F(SyncChaos, Barrier) {
  for (int i = 0; i < iterations(); ++i) run_barrier_iteration(i);
}

}  // namespace
}  // namespace mp::chaos
