#include "shm/event.hpp"

#include <climits>

#include "shm/spin.hpp"
#include "sys/futex.hpp"

namespace mp::shm {

void event_set(EventState& s) noexcept {
  s.flag.store(1, std::memory_order_seq_cst);
  if (s.waiters.load(std::memory_order_seq_cst) != 0) sys::futex_wake(s.flag, INT_MAX);
}

bool event_wait(EventState& s, const sys::Deadline& deadline) noexcept {
  if (spin_until([&] { return s.flag.load(std::memory_order_acquire) != 0; }, deadline)) {
    return true;
  }
  if (deadline.passed()) return s.flag.load(std::memory_order_acquire) != 0;
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
