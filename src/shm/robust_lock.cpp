#include "shm/robust_lock.hpp"

#include "sys/futex.hpp"
#include "sys/thread_id.hpp"

namespace mp::shm {

namespace {
// Spinning pays when the holder is running on another CPU and about to release; a few
// microseconds, then sleep.
constexpr int kSpins = 100;
}  // namespace

void lock_wake_one(LockState& s) noexcept {
  sys::futex_wake(s.word, 1);
}

Acquired lock_acquire_contended(LockState& s, std::uint32_t tid,
                                const sys::Deadline& deadline) noexcept {
  for (int i = 0; i < kSpins; ++i) {
    sys::cpu_relax();
    if (s.word.load(std::memory_order_relaxed) == 0 && lock_try(s, tid)) return Acquired::yes;
  }
  for (;;) {
    std::uint32_t v = s.word.load(std::memory_order_relaxed);
    if (v == 0) {
      // Taken with the waiters bit: others may sleep, and the release must wake them.
      if (s.word.compare_exchange_strong(v, tid | kWaiters, std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
        return Acquired::yes;
      }
      continue;
    }
    if (!(v & kWaiters)) {
      if (!s.word.compare_exchange_strong(v, v | kWaiters, std::memory_order_relaxed)) continue;
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
