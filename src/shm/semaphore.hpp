// shm/semaphore.hpp — a counting semaphore in shared memory: the count is the futex word.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "sys/clock.hpp"

namespace mp::shm {

struct SemaphoreState {
  std::atomic<std::uint32_t> value;    // the count; sleepers wait for it to leave 0
  std::atomic<std::uint32_t> waiters;  // sleepers, so release skips the wake call when none
  std::uint32_t max;                   // BoundedSemaphore's bound; 0: unbounded
  std::uint32_t reserved;
};
static_assert(std::is_standard_layout_v<SemaphoreState>);

inline bool semaphore_try(SemaphoreState& s) noexcept {
  std::uint32_t v = s.value.load(std::memory_order_relaxed);
  while (v > 0) {
    if (s.value.compare_exchange_weak(v, v - 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

// Takes one unit, waiting until the deadline; false on timeout.
bool semaphore_acquire(SemaphoreState& s, const sys::Deadline& deadline) noexcept;

enum class Released { ok, over_bound };
Released semaphore_release(SemaphoreState& s, std::uint32_t n) noexcept;

}  // namespace mp::shm
