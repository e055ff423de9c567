#include "shm/event.hpp"

#include <climits>

#include "sys/futex.hpp"

namespace mp::shm {

namespace {
// A set() usually follows within microseconds when both sides are busy: spin briefly first, as
// the wake-up through the kernel costs tens of microseconds.
constexpr int kSpins = 2000;
}  // namespace

void event_set(EventState& s) noexcept {
  s.flag.store(1, std::memory_order_seq_cst);
  if (s.waiters.load(std::memory_order_seq_cst) != 0) sys::futex_wake(s.flag, INT_MAX);
}

bool event_wait(EventState& s, const sys::Deadline& deadline) noexcept {
  for (int i = 0; i < kSpins; ++i) {
    if (s.flag.load(std::memory_order_acquire) != 0) return true;
    // wait(0) is a look, and a short timeout ends on time: the spin stops at the deadline.
    if (i % 64 == 0 && deadline.passed()) return s.flag.load(std::memory_order_acquire) != 0;
    sys::cpu_relax();
  }
  s.waiters.fetch_add(1, std::memory_order_seq_cst);
  bool set = false;
  for (;;) {
    if (s.flag.load(std::memory_order_seq_cst) != 0) {
      set = true;
      break;
    }
    if (sys::futex_wait(s.flag, 0, deadline) == sys::WaitResult::timed_out) {
      set = s.flag.load(std::memory_order_acquire) != 0;
      break;
    }
  }
  s.waiters.fetch_sub(1, std::memory_order_relaxed);
  return set;
}

}  // namespace mp::shm
