// shm/spin.hpp — the short awake look that Event and Condition take before they sleep.
#pragma once

#include <chrono>

#include "sys/clock.hpp"
#include "sys/futex.hpp"

namespace mp::shm {

// A set() or notify() usually follows within microseconds when both sides are busy, while the
// wake-up through the kernel costs tens of microseconds. Bounded in time, not in pauses (a pause
// takes from 10 to 150 cycles, depending on the CPU), so that a wait that ends up sleeping burns
// a known, small amount of CPU first.
inline constexpr std::chrono::nanoseconds kSpinFor = std::chrono::microseconds(20);

// Looks at ready() until it is true (then true), for at most kSpinFor and never past `deadline`
// (then false). A wait(0) is one look, and a short timeout ends on time: one clock read per 64
// looks, the first at once; the spin's own bound is taken at the second, because a clock read
// costs more than the set() that the first looks usually catch.
template <class Ready>
bool spin_until(Ready ready, const sys::Deadline& deadline) noexcept {
  sys::Deadline until = deadline;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if (i % 64 == 0) {
      if (until.passed()) return false;
      if (i == 64) until = deadline.capped(kSpinFor);
    }
    sys::cpu_relax();
  }
}

}  // namespace mp::shm
