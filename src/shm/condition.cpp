#include "shm/condition.hpp"

#include <chrono>

#include "sys/futex.hpp"

namespace mp::shm {

namespace {
// As for Event: a notify often follows within microseconds; spinning first (for a bounded time,
// shm/event.cpp) saves the round trip through the kernel's futex wake-up.
constexpr std::chrono::nanoseconds kSpinFor = std::chrono::microseconds(20);
}  // namespace

bool condition_sleep(ConditionState& s, std::uint32_t seq, const sys::Deadline& deadline) noexcept {
  bool notified = true;
  sys::Deadline spin_until = deadline;  // capped at kSpinFor later, as in shm/event.cpp
  for (int i = 0;; ++i) {
    if (s.seq.load(std::memory_order_acquire) != seq) {
      s.waiters.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
    if (i % 64 == 0) {
      if (spin_until.passed()) break;  // a short timeout ends on time
      if (i == 64) spin_until = deadline.capped(kSpinFor);
    }
    sys::cpu_relax();
  }
  for (;;) {
    if (s.seq.load(std::memory_order_acquire) != seq) break;
    if (sys::futex_wait(s.seq, seq, deadline) == sys::WaitResult::timed_out) {
      notified = s.seq.load(std::memory_order_acquire) != seq;
      break;
    }
  }
  s.waiters.fetch_sub(1, std::memory_order_relaxed);
  return notified;
}

void condition_notify(ConditionState& s, int n) noexcept {
  if (s.waiters.load(std::memory_order_seq_cst) == 0) return;
  s.seq.fetch_add(1, std::memory_order_seq_cst);
  sys::futex_wake(s.seq, n);
}

}  // namespace mp::shm
