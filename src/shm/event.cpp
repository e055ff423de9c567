#include "shm/event.hpp"

#include <chrono>
#include <climits>

#include "sys/futex.hpp"

namespace mp::shm {

namespace {
// A set() usually follows within microseconds when both sides are busy: spin briefly first, as
// the wake-up through the kernel costs tens of microseconds. Bounded in time, not in pauses (a
// pause takes from 10 to 150 cycles, depending on the CPU), so that a wait that ends up sleeping
// burns a known, small amount of CPU first.
constexpr std::chrono::nanoseconds kSpinFor = std::chrono::microseconds(20);
}  // namespace

void event_set(EventState& s) noexcept {
  s.flag.store(1, std::memory_order_seq_cst);
  if (s.waiters.load(std::memory_order_seq_cst) != 0) sys::futex_wake(s.flag, INT_MAX);
}

bool event_wait(EventState& s, const sys::Deadline& deadline) noexcept {
  sys::Deadline spin_until = deadline;  // capped at kSpinFor once the first looks are done
  for (int i = 0;; ++i) {
    if (s.flag.load(std::memory_order_acquire) != 0) return true;
    if (i % 64 == 0) {
      // wait(0) is a look, and a short timeout ends on time: one clock read per 64 looks, the
      // first at once; the spin's own bound is taken at the second (a clock read costs more
      // than the set() that the first looks usually catch).
      if (spin_until.passed()) {
        if (deadline.passed()) return s.flag.load(std::memory_order_acquire) != 0;
        break;
      }
      if (i == 64) spin_until = deadline.capped(kSpinFor);
    }
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
