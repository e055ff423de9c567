#include "shm/robust_lock.hpp"

#include "sys/futex.hpp"
#include "sys/thread_id.hpp"

namespace mp::shm {

namespace {
// Spinning pays when the holder runs on another CPU and is about to release. The spinner only
// reads the word, and seldom: each read pulls the cache line away from the holder, whose next
// acquire or release must then take it back, so a waiter that polls steadily slows the holder
// it waits for (two processes alternating on the line were 2.6 times slower than glibc's
// mutex, which does not spin at all). The waits between reads double, from one pause to
// kMaxPauses: 7 reads in 127 pauses, 5-15 microseconds depending on the processor's pause.
constexpr int kMaxPauses = 64;
}  // namespace

void lock_wake_one(LockState& s) noexcept {
  sys::futex_wake(s.word, 1);
}

Acquired lock_acquire_contended(LockState& s, std::uint32_t tid,
                                const sys::Deadline& deadline) noexcept {
  // A poll (try_lock, acquire(false)) neither spins nor marks the lock as waited for.
  if (deadline.passed()) return Acquired::timed_out;
  for (int pauses = 1; pauses <= kMaxPauses; pauses *= 2) {
    for (int i = 0; i < pauses; ++i) sys::cpu_relax();
    if (s.word.load(std::memory_order_relaxed) == 0 && lock_try(s, tid)) return Acquired::yes;
  }
  // Counted before the waiters bit is set: a thread that finds the lock free and this count
  // above one (itself) keeps the bit, so that its release wakes the next sleeper.
  s.sleepers.fetch_add(1, std::memory_order_seq_cst);
  struct Leave {
    LockState& s;
    ~Leave() { s.sleepers.fetch_sub(1, std::memory_order_seq_cst); }
  } leave{s};
  for (;;) {
    std::uint32_t v = s.word.load(std::memory_order_seq_cst);
    if (v == 0) {
      // Taken with the waiters bit only if others may sleep: a lone waiter that woke takes it
      // as an uncontended acquirer would, and its release then wakes nobody in vain.
      const bool others = s.sleepers.load(std::memory_order_seq_cst) > 1;
      if (s.word.compare_exchange_strong(v, tid | (others ? kWaiters : 0),
                                         std::memory_order_seq_cst, std::memory_order_relaxed)) {
        return Acquired::yes;
      }
      continue;
    }
    if (!(v & kWaiters)) {
      if (!s.word.compare_exchange_strong(v, v | kWaiters, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
        continue;
      }
      v |= kWaiters;
    }
    if (deadline.passed()) return Acquired::timed_out;
    auto r = sys::futex_wait(s.word, v, deadline.capped(kOwnerCheck));
    if (r == sys::WaitResult::timed_out && s.word.load(std::memory_order_relaxed) == v &&
        !sys::thread_alive(static_cast<int>(v & kOwnerMask))) {
      std::uint32_t dead = v;
      if (s.word.compare_exchange_strong(dead, tid | kWaiters, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
        s.deaths.fetch_add(1, std::memory_order_relaxed);
        return Acquired::recovered;
      }
    }
  }
}

}  // namespace mp::shm
