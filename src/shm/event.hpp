// shm/event.hpp — a flag in shared memory that waiters sleep on (Python's Event).
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "sys/clock.hpp"

namespace mp::shm {

struct EventState {
  std::atomic<std::uint32_t> flag;     // the futex word: 0 clear, 1 set
  std::atomic<std::uint32_t> waiters;  // sleepers, so set() skips the wake call when none
};
static_assert(std::is_standard_layout_v<EventState>);

void event_set(EventState& s) noexcept;
// True once the flag is set; false when the deadline passed first.
bool event_wait(EventState& s, const sys::Deadline& deadline) noexcept;

}  // namespace mp::shm
