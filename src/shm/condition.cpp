#include "shm/condition.hpp"

#include "shm/spin.hpp"
#include "sys/futex.hpp"

namespace mp::shm {

bool condition_sleep(ConditionState& s, std::uint32_t seq, const sys::Deadline& deadline) noexcept {
  bool notified = true;
  // As for Event (shm/spin.hpp): a notify often follows within microseconds.
  if (spin_until([&] { return s.seq.load(std::memory_order_acquire) != seq; }, deadline)) {
    s.waiters.fetch_sub(1, std::memory_order_relaxed);
    return true;
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
