// shm/biased_lock.hpp — a robust lock whose steady user enters with one atomic instruction.
//
// A queue used by one producer and one consumer takes its put lock and its get lock once per
// message. The robust lock costs two locked instructions per message (take and release), and on
// x86 each waits for the store buffer to drain. So a thread that takes a lock many times in a
// row is given the lock's *bias*: from then on it enters by claiming `busy` (a compare-and-swap
// from 0 to its tid) and leaves with a plain store. Anyone else who wants the lock takes the
// underlying robust lock and revokes the bias: it raises `revoking` and waits until `busy` no
// longer names the holder. Both sides write one word and then read the other's (the claim, then
// `revoking`; `revoking`, then `busy`) with full barriers, so either the holder sees `revoking`
// and backs off to the slow path, or the revoker sees the holder inside and waits for it.
//
// `busy` is claimed, never simply stored: a thread that read the bias as its own and was then
// preempted may resume after its bias was revoked and granted to another thread that is inside;
// a plain store of its tid would erase that holder's mark and let the next revoker in beside it.
//
// Each revocation multiplies the streak needed for the next bias, so threads that alternate
// settle on plain locking. A holder that dies inside (busy stuck) is detected as the robust lock
// detects a dead owner. All-zero bytes are a valid, unbiased, free lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "shm/robust_lock.hpp"
#include "sys/clock.hpp"

namespace mp::shm {

struct BiasedLockState {
  LockState lock;
  std::atomic<std::uint32_t> bias;      // the tid holding the bias; 0: none
  std::atomic<std::uint32_t> busy;      // the tid inside on the bias (or trying to be); 0: none
  std::atomic<std::uint32_t> revoking;  // 1 while a revoker waits for the holder to leave
  std::uint32_t last_owner;             // under `lock`: the last thread to take it
  std::uint32_t streak;                 // under `lock`: consecutive takes by last_owner
  std::uint32_t revocations;            // under `lock`: sets the streak a bias needs
};
static_assert(std::is_standard_layout_v<BiasedLockState>);

// How a BiasedLock was entered, for leaving it the same way.
enum class Entry { none, biased, locked };

// A thread whose claim failed validation releases it and hands the bias back.
void biased_back_off(BiasedLockState& s, std::uint32_t tid) noexcept;
// Slow path of biased_enter: the robust lock, with revocation of another thread's bias.
Entry biased_enter_locked(BiasedLockState& s, std::uint32_t tid, const sys::Deadline& deadline,
                          bool& recovered) noexcept;
// Slow path of biased_leave: may hand the bias to the leaving thread.
void biased_leave_locked(BiasedLockState& s, std::uint32_t tid) noexcept;

// The fast path, for a thread that has read `bias` naming itself: true when it is inside. Its
// read may be stale by now (the bias revoked, even granted to another thread that is inside);
// then it leaves `busy` as it found it and returns false.
inline bool biased_try_enter(BiasedLockState& s, std::uint32_t tid) noexcept {
  std::uint32_t free = 0;
  if (!s.busy.compare_exchange_strong(free, tid, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
    return false;  // someone is inside, or claiming: the slow path sorts it out
  }
  // `bias` is read again after `revoking`: a revocation that finished since the caller's read
  // cleared bias before it cleared revoking.
  if (s.revoking.load(std::memory_order_seq_cst) == 0 &&
      s.bias.load(std::memory_order_acquire) == tid) {
    return true;
  }
  biased_back_off(s, tid);
  return false;
}

// Entry::none when the deadline passed; `recovered` tells that a holder had died inside.
inline Entry biased_enter(BiasedLockState& s, std::uint32_t tid, const sys::Deadline& deadline,
                          bool& recovered) noexcept {
  recovered = false;
  if (s.bias.load(std::memory_order_relaxed) == tid && biased_try_enter(s, tid)) {
    return Entry::biased;
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
