// shm/robust_lock.hpp — a mutex in shared memory that survives the death of its holder.
//
// The whole lock is one 32-bit futex word holding the owner's thread id (0: free) and a
// "waiters" bit. Uncontended acquire and release are one atomic instruction each, with no
// other bookkeeping: the owner's id is the value the acquire stores. A waiter spins briefly,
// reading the word seldom (robust_lock.cpp says why), then sleeps on the futex in slices; when a
// slice ends with the owner unchanged, it asks the kernel whether that thread still exists, and if
// it does not, takes the lock over. So a holder killed by SIGKILL costs the next acquirer at most
// one slice (kOwnerCheck), never a deadlock; the take over is counted in `deaths`, which is how the
// death becomes observable.
//
// Why not a robust pthread mutex: Python lets any thread or process release a Lock, and a robust
// pthread mutex refuses a release by a non-owner. Owner-in-the-word gives us both behaviours.
//
// Layout (plain, offsets only, lock-free atomics only; all-zero bytes are a valid free lock):
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <type_traits>

#include "sys/clock.hpp"

namespace mp::shm {

struct LockState {
  std::atomic<std::uint32_t> word;    // owner tid | kWaiters, 0 when free
  std::uint32_t count;                // RLock recursion depth while held; the owner's only
  std::atomic<std::uint32_t> deaths;  // owners that died holding the lock
  // Threads in the contended path (spun out, asleep or about to be): the one that takes the
  // lock sets the waiters bit only if others remain, so that a lone waiter's later release
  // makes no futex call. A waiter killed there leaves the count too high: releases may then
  // wake in vain, never miss a sleeper.
  std::atomic<std::uint32_t> sleepers;
};
static_assert(sizeof(LockState) == 16);
static_assert(std::is_standard_layout_v<LockState>);

inline constexpr std::uint32_t kWaiters = 0x8000'0000u;
inline constexpr std::uint32_t kOwnerMask = ~kWaiters;
inline constexpr auto kOwnerCheck = std::chrono::milliseconds(20);

enum class Acquired { yes, recovered, timed_out };

inline bool lock_try(LockState& s, std::uint32_t tid) noexcept {
  std::uint32_t expected = 0;
  return s.word.compare_exchange_strong(expected, tid, std::memory_order_acquire,
                                        std::memory_order_relaxed);
}

// Slow path of lock_acquire.
Acquired lock_acquire_contended(LockState& s, std::uint32_t tid,
                                const sys::Deadline& deadline) noexcept;

inline Acquired lock_acquire(LockState& s, std::uint32_t tid,
                             const sys::Deadline& deadline) noexcept {
  if (lock_try(s, tid)) return Acquired::yes;
  return lock_acquire_contended(s, tid, deadline);
}

void lock_wake_one(LockState& s) noexcept;

// Frees the lock, whoever holds it; false if it was not held.
inline bool lock_release(LockState& s) noexcept {
  std::uint32_t old = s.word.exchange(0, std::memory_order_release);
  if (old & kWaiters) lock_wake_one(s);
  return old != 0;
}

inline std::uint32_t lock_owner(const LockState& s) noexcept {
  return s.word.load(std::memory_order_relaxed) & kOwnerMask;
}

}  // namespace mp::shm
