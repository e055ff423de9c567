// shm/condition.hpp — the sleeping half of a condition variable in shared memory.
//
// A sequence number is the futex word: a waiter reads it, releases the user's lock, and sleeps
// until notify bumps it. A notify that lands between the read and the sleep makes the sleep
// return at once, so no wake-up is lost; a waiter may wake more often than notified, which is
// why waits on a condition are written as predicate loops.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "sys/clock.hpp"

namespace mp::shm {

struct ConditionState {
  std::atomic<std::uint32_t> seq;
  std::atomic<std::uint32_t> waiters;
};
static_assert(std::is_standard_layout_v<ConditionState>);

// Before releasing the lock: registers the waiter and returns the sequence to sleep on.
inline std::uint32_t condition_enter(ConditionState& s) noexcept {
  s.waiters.fetch_add(1, std::memory_order_seq_cst);
  return s.seq.load(std::memory_order_seq_cst);
}

// After releasing the lock: sleeps until notified or the deadline; false on timeout.
bool condition_sleep(ConditionState& s, std::uint32_t seq, const sys::Deadline& deadline) noexcept;

// Wakes up to n waiters (INT32_MAX: all). Called with the user's lock held.
void condition_notify(ConditionState& s, int n) noexcept;

}  // namespace mp::shm
