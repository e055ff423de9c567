#include "shm/barrier.hpp"

#include <climits>

#include "sys/futex.hpp"
#include "sys/thread_id.hpp"

namespace mp::shm {

namespace {

void lock(BarrierState& s) noexcept {
  lock_acquire(s.lock, static_cast<std::uint32_t>(sys::this_tid()), sys::Deadline::never());
}
void unlock(BarrierState& s) noexcept {
  lock_release(s.lock);
}

// With the lock held: ends the current generation as failed and wakes its waiters.
void fail_generation(BarrierState& s, bool stays_broken) noexcept {
  std::uint32_t g = s.gen.load(std::memory_order_relaxed);
  s.failed_gen.store(g + 1, std::memory_order_relaxed);  // +1: zero means "none failed"
  s.broken.store(stays_broken ? 1 : 0, std::memory_order_relaxed);
  s.count.store(0, std::memory_order_relaxed);
  s.gen.store(g + 1, std::memory_order_release);
  sys::futex_wake(s.gen, INT_MAX);
}

}  // namespace

BarrierResult barrier_wait(BarrierState& s, const sys::Deadline& deadline, BarrierAction action,
                           void* context, std::uint32_t& index) noexcept {
  lock(s);
  if (s.broken.load(std::memory_order_relaxed)) {
    unlock(s);
    return BarrierResult::broken;
  }
  const std::uint32_t g = s.gen.load(std::memory_order_relaxed);
  index = s.count.fetch_add(1, std::memory_order_relaxed);
  if (index + 1 == s.parties) {
    if (action != nullptr && !action(context)) {
      fail_generation(s, true);
      unlock(s);
      return BarrierResult::broken;
    }
    s.count.store(0, std::memory_order_relaxed);
    s.gen.store(g + 1, std::memory_order_release);
    sys::futex_wake(s.gen, INT_MAX);
    unlock(s);
    return BarrierResult::passed;
  }
  unlock(s);

  for (;;) {
    std::uint32_t now = s.gen.load(std::memory_order_acquire);
    if (now != g) {
      return s.failed_gen.load(std::memory_order_relaxed) == g + 1 ? BarrierResult::broken
                                                                   : BarrierResult::passed;
    }
    if (sys::futex_wait(s.gen, g, deadline) == sys::WaitResult::timed_out) {
      // Python: a waiter that times out breaks the barrier for everyone.
      lock(s);
      if (s.gen.load(std::memory_order_relaxed) == g) fail_generation(s, true);
      unlock(s);
    }
  }
}

void barrier_abort(BarrierState& s) noexcept {
  lock(s);
  fail_generation(s, true);
  unlock(s);
}

void barrier_reset(BarrierState& s) noexcept {
  lock(s);
  if (s.count.load(std::memory_order_relaxed) > 0) {
    fail_generation(s, false);  // the waiters of this generation see BrokenBarrierError
  } else {
    s.broken.store(0, std::memory_order_relaxed);
  }
  unlock(s);
}

}  // namespace mp::shm
