// shm/biased_lock.hpp — a robust lock whose steady user enters without atomic instructions.
//
// A queue used by one producer and one consumer takes its put lock and its get lock once per
// message. Each uncontended acquire and release is a locked instruction, and on x86 a locked
// instruction waits for the store buffer to drain: the producer then stalls on every cache line
// the consumer has just read, message after message. So a thread that takes a lock many times
// in a row is given the lock's *bias*: from then on it enters with a plain store to `busy` and
// leaves by clearing it, ordered only against the compiler. Anyone else who wants the lock takes
// the underlying robust lock and revokes the bias: it raises `revoking`, makes every registered
// process execute a memory barrier (sys/membarrier.hpp, the asymmetric half of the fence), and
// waits until `busy` no longer names the holder. After that barrier either the holder sees
// `revoking` and backs off to the slow path, or the revoker sees the holder's `busy` and waits for
// it to leave.
//
// Each revocation multiplies the streak needed for the next bias, so threads that alternate
// settle on plain locking. A holder that dies inside (busy stuck) is detected as the robust
// lock detects a dead owner. All-zero bytes are a valid, unbiased, free lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shm/robust_lock.hpp"
#include "sys/clock.hpp"
#include "sys/membarrier.hpp"

namespace mp::shm {

struct BiasedLockState {
  LockState lock;
  std::atomic<std::uint32_t> bias;      // the tid holding the bias; 0: none
  std::atomic<std::uint32_t> busy;      // the holder's tid while it is inside; 0 otherwise
  std::atomic<std::uint32_t> revoking;  // 1 while a revoker waits for the holder to leave
  std::uint32_t last_owner;             // under `lock`: the last thread to take it
  std::uint32_t streak;                 // under `lock`: consecutive takes by last_owner
  std::uint32_t revocations;            // under `lock`: sets the streak a bias needs
};
static_assert(std::is_standard_layout_v<BiasedLockState>);

// How a BiasedLock was entered, for leaving it the same way.
enum class Entry { none, biased, locked };

// A holder that finds a revocation under way leaves and hands the bias back.
void biased_back_off(BiasedLockState& s, std::uint32_t tid) noexcept;
// Slow path of biased_enter: the robust lock, with revocation of another thread's bias.
Entry biased_enter_locked(BiasedLockState& s, std::uint32_t tid, const sys::Deadline& deadline,
                          bool& recovered) noexcept;
// Slow path of biased_leave: may hand the bias to the leaving thread.
void biased_leave_locked(BiasedLockState& s, std::uint32_t tid) noexcept;

// Entry::none when the deadline passed; `recovered` tells that a holder had died inside.
inline Entry biased_enter(BiasedLockState& s, std::uint32_t tid, const sys::Deadline& deadline,
                          bool& recovered) noexcept {
  recovered = false;
  if (s.bias.load(std::memory_order_relaxed) == tid && sys::membarrier_registered()) {
    s.busy.store(tid, std::memory_order_relaxed);
    // The compiler must not move the checks above the store; the CPU may, and the revoker's
    // membarrier is what makes that harmless. `bias` is read again after `revoking`: a
    // revocation that finished meanwhile cleared bias before it cleared revoking.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (s.revoking.load(std::memory_order_acquire) == 0 &&
        s.bias.load(std::memory_order_relaxed) == tid) {
      return Entry::biased;
    }
    biased_back_off(s, tid);
  }
  return biased_enter_locked(s, tid, deadline, recovered);
}

inline void biased_leave(BiasedLockState& s, Entry entry, std::uint32_t tid) noexcept {
  if (entry == Entry::biased) {
    s.busy.store(0, std::memory_order_release);
  } else if (entry == Entry::locked) {
    biased_leave_locked(s, tid);
  }
}

}  // namespace mp::shm
