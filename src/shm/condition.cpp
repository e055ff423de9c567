#include "shm/condition.hpp"

#include "sys/futex.hpp"

namespace mp::shm {

namespace {
// As for Event: a notify often follows within microseconds; spinning first saves the round trip
// through the kernel's futex wake-up.
constexpr int kSpins = 2000;
}  // namespace

bool condition_sleep(ConditionState& s, std::uint32_t seq, const sys::Deadline& deadline) noexcept {
  bool notified = true;
  for (int i = 0; i < kSpins; ++i) {
    if (s.seq.load(std::memory_order_acquire) != seq) {
      s.waiters.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
    if (i % 64 == 0 && deadline.passed()) break;  // a short timeout ends on time
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
