#include "shm/semaphore.hpp"

#include <climits>

#include "sys/futex.hpp"

namespace mp::shm {

bool semaphore_acquire(SemaphoreState& s, const sys::Deadline& deadline) noexcept {
  for (int i = 0; i < 100; ++i) {
    if (semaphore_try(s)) return true;
    sys::cpu_relax();
  }
  for (;;) {
    if (semaphore_try(s)) return true;
    s.waiters.fetch_add(1, std::memory_order_seq_cst);
    // seq_cst pairs with release(): either it sees our waiters count, or we see its new value.
    auto r = sys::futex_wait(s.value, 0, deadline);
    s.waiters.fetch_sub(1, std::memory_order_relaxed);
    if (r == sys::WaitResult::timed_out) return semaphore_try(s);
  }
}

Released semaphore_release(SemaphoreState& s, std::uint32_t n) noexcept {
  std::uint32_t v = s.value.load(std::memory_order_relaxed);
  do {
    if (s.max != 0 && v + n > s.max) return Released::over_bound;
  } while (!s.value.compare_exchange_weak(v, v + n, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
  if (s.waiters.load(std::memory_order_seq_cst) != 0) {
    sys::futex_wake(s.value, n >= INT_MAX ? INT_MAX : static_cast<int>(n));
  }
  return Released::ok;
}

}  // namespace mp::shm
